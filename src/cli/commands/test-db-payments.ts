import { columnKey, columnTypes } from '../../ident/prepare.ts';
import { type SqlConnection, SqlTypes } from '../../ident/pool.ts';
import { streamRows } from '../../ident/stream.ts';

type Out = (line?: string) => void;

/** What patients.sql computes for one patient, by its column aliases. */
export interface PatientTotals {
  visitSum: number | null;
  debt: number | null;
}

const JOURNAL = ['ID_Patients', 'AmountWithDiscount', 'Debt'].map((column) => ({
  table: 'OrderPaymentsJournal',
  column,
}));
/** Roubles: a difference below a kopeck is rounding. */
const agrees = (ours: number | null, theirs: number | null) => Math.abs((ours ?? 0) - (theirs ?? 0)) < 0.01;

/**
 * patients.sql computes VisitSum and Debt from the order lines and payments; IDENT's own
 * OrderPaymentsJournal (a view seen in real PZ databases: ID_Patients, AmountWithDiscount, Debt
 * per order, ../shared/reference/ident-schema.md) is the clinic's figure. Compared for the sample
 * patients, so a clinic that bills differently (warranty, insurer lines) sees it before its managers
 * do. Only patient ids and sums over the sample are printed; a difference is a warning, not a failure.
 */
export async function reportPaymentsJournal(
  connection: SqlConnection,
  patientIds: readonly string[],
  totalsOf: (patientId: string) => Promise<PatientTotals | undefined>,
  out: Out,
): Promise<void> {
  if (patientIds.length === 0) return;
  const types = await columnTypes(connection, ['OrderPaymentsJournal']);
  const missing = JOURNAL.filter((column) => !types.has(columnKey(column)));
  if (missing.length > 0) {
    out(
      `payments: not compared — this database has no ${missing.map((column) => `${column.table}.${column.column}`).join(', ')}`,
    );
    return;
  }
  const request = connection.request();
  patientIds.forEach((id, index) => request.input(`p${index}`, SqlTypes.Int, Number(id)));
  const journal = new Map<string, PatientTotals>();
  for await (const row of streamRows(
    request,
    `SELECT j.ID_Patients AS PatientId, SUM(j.AmountWithDiscount) AS Billed, SUM(j.Debt) AS Debt
     FROM dbo.OrderPaymentsJournal AS j
     WHERE j.ID_Patients IN (${patientIds.map((_, index) => `@p${index}`).join(', ')})
     GROUP BY j.ID_Patients`,
  ))
    journal.set(String(row.PatientId), { visitSum: numberOrNull(row.Billed), debt: numberOrNull(row.Debt) });
  const differ: string[] = [];
  let compared = 0;
  for (const id of patientIds) {
    const ours = await totalsOf(id);
    if (!ours) continue;
    compared += 1;
    const theirs = journal.get(id) ?? { visitSum: 0, debt: 0 };
    const what = [
      ...(agrees(ours.visitSum, theirs.visitSum) ? [] : ['VisitSum']),
      ...(agrees(ours.debt, theirs.debt) ? [] : ['Debt']),
    ];
    if (what.length > 0) differ.push(`patient ${id}: ${what.join(' and ')}`);
  }
  if (differ.length === 0) {
    out(
      `payments: VisitSum and Debt of the ${compared} sample patient(s) agree with IDENT's OrderPaymentsJournal`,
    );
    return;
  }
  out(
    `payments: warning: ${differ.length} of ${compared} sample patient(s) differ from IDENT's OrderPaymentsJournal (AmountWithDiscount, Debt); compare the billed lines and payments in patients.sql with how this clinic bills:`,
  );
  for (const line of differ) out(`  - ${line}`);
}

/** VisitSum and Debt as patients.sql names them; nothing when the file no longer has both. */
export function patientTotals(row: Record<string, unknown> | undefined): PatientTotals | undefined {
  if (!row || !('VisitSum' in row) || !('Debt' in row)) return undefined;
  return { visitSum: numberOrNull(row.VisitSum), debt: numberOrNull(row.Debt) };
}

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}
