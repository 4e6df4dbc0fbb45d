import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patientTotals, reportPaymentsJournal } from '../../src/cli/commands/test-db-payments.ts';
import { FakeRequest } from '../helpers/fake-sql.ts';

/** A database whose INFORMATION_SCHEMA lists `columns` of OrderPaymentsJournal and whose journal holds `journal`. */
function database(columns: string[], journal: { PatientId: number; Billed: number; Debt: number }[]) {
  return {
    request() {
      return new FakeRequest((self) =>
        /INFORMATION_SCHEMA/.test(self.sql)
          ? {
              rows: columns.map((column) => ({
                TABLE_NAME: 'OrderPaymentsJournal',
                COLUMN_NAME: column,
                DATA_TYPE: 'money',
              })),
            }
          : { rows: journal.filter((row) => Object.values(self.inputs).includes(row.PatientId)) },
      );
    },
    async close() {},
  };
}

const printed = async (run: (out: (line?: string) => void) => Promise<void>) => {
  const lines: string[] = [];
  await run((line = '') => lines.push(line));
  return lines.join('\n');
};

describe('test-db compares VisitSum and Debt with IDENT’s OrderPaymentsJournal', () => {
  const ours = new Map([
    ['1001', { VisitSum: 30400, Debt: 0 }],
    ['1002', { VisitSum: 5000, Debt: 1200 }],
  ]);
  const totalsOf = async (id: string) => patientTotals(ours.get(id));
  const all = ['ID_Patients', 'AmountWithDiscount', 'Debt'];

  it('says they agree when the sums match', async () => {
    const db = database(all, [
      { PatientId: 1001, Billed: 30400, Debt: 0 },
      { PatientId: 1002, Billed: 5000, Debt: 1200 },
    ]);
    const text = await printed((out) => reportPaymentsJournal(db, ['1001', '1002'], totalsOf, out));
    assert.match(text, /^payments: VisitSum and Debt of the 2 sample patient\(s\) agree/);
  });

  it('names the patients and the sums that differ, without amounts', async () => {
    const db = database(all, [
      { PatientId: 1001, Billed: 28000, Debt: 0 },
      { PatientId: 1002, Billed: 5000, Debt: 0 },
    ]);
    const text = await printed((out) => reportPaymentsJournal(db, ['1001', '1002'], totalsOf, out));
    assert.match(text, /^payments: warning: 2 of 2 sample patient\(s\) differ/);
    assert.match(text, /- patient 1001: VisitSum$/m);
    assert.match(text, /- patient 1002: Debt$/m);
    assert.doesNotMatch(text, /28000|30400|1200/);
  });

  it('says plainly when the journal is not there', async () => {
    const text = await printed((out) =>
      reportPaymentsJournal(database(['ID_Patients'], []), ['1001'], totalsOf, out),
    );
    assert.match(
      text,
      /^payments: not compared — this database has no OrderPaymentsJournal\.AmountWithDiscount, OrderPaymentsJournal\.Debt$/,
    );
  });
});
