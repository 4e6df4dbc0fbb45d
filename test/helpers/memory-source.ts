import type { ChangeMark, PatientSource } from '../../src/ident/patient-source.ts';
import type { PatientRow } from '../../src/mapping/mapper.ts';

/** When the synthetic patients of the tests last changed in IDENT. */
export const T0 = new Date(Date.UTC(2026, 10, 20, 10));

type Row = Record<string, unknown> & { PatientId: number | string; ChangedAt: Date };

/**
 * Patients in memory with a clock of their own, like IDENT's: `touch` changes a patient and stamps
 * it with the current clock. `failAfter` makes the next read break after that many rows, as a
 * dropped SQL connection would.
 */
export class MemorySource implements PatientSource {
  readonly rows = new Map<string, Row>();
  clock: Date;
  failAfter: number | undefined;
  failure: Error = Object.assign(
    new Error('the connection to SQL Server was lost during a read; the next run reads again'),
    {
      kind: 'dropped',
    },
  );
  reads = 0;

  constructor(rows: Row[] = [], clock = T0) {
    this.clock = clock;
    for (const row of rows) this.rows.set(String(row.PatientId), row);
  }

  tick(ms = 1000): Date {
    this.clock = new Date(this.clock.getTime() + ms);
    return this.clock;
  }

  put(row: Row): void {
    this.rows.set(String(row.PatientId), row);
  }

  touch(patientId: string | number, changes: Record<string, unknown>): void {
    const row = this.rows.get(String(patientId));
    if (!row) throw new Error(`no patient ${patientId}`);
    this.rows.set(String(patientId), { ...row, ...changes, ChangedAt: this.tick(10) });
  }

  remove(patientId: string | number): void {
    this.rows.delete(String(patientId));
  }

  async now(): Promise<ChangeMark> {
    return { at: this.clock };
  }

  changedSince(since: ChangeMark): AsyncIterable<PatientRow> {
    return this.stream((row) => row.ChangedAt >= since.at);
  }

  all(): AsyncIterable<PatientRow> {
    return this.stream(() => true);
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    return this.rows.get(patientId);
  }

  async stats() {
    let newest: Date | null = null;
    for (const row of this.rows.values()) if (!newest || row.ChangedAt > newest) newest = row.ChangedAt;
    return { patients: this.rows.size, newestChange: newest };
  }

  async close(): Promise<void> {}

  private async *stream(keep: (row: Row) => boolean): AsyncGenerator<PatientRow> {
    const ids = [...this.rows.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    let sent = 0;
    const failAfter = this.failAfter;
    this.failAfter = undefined;
    for (const id of ids) {
      const row = this.rows.get(id);
      if (!row || !keep(row)) continue;
      if (failAfter !== undefined && sent >= failAfter) throw this.failure;
      sent += 1;
      this.reads += 1;
      if (sent % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      yield row;
    }
  }
}

const SURNAMES = [
  'Иванов',
  'Петров',
  'Сидоров',
  'Смирнов',
  'Кузнецов',
  'Попов',
  'Соколов',
  'Лебедев',
  'Козлов',
  'Новиков',
];
const NAMES = ['Иван', 'Пётр', 'Мария', 'Анна', 'Сергей', 'Ольга', 'Дмитрий', 'Елена', 'Алексей', 'Татьяна'];

/** Synthetic patients start…start+count-1, all changed at T0. */
export const syntheticPatients = (count: number, start = 1): Row[] =>
  Array.from({ length: count }, (_, index) => syntheticPatient(start + index, T0));

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/**
 * A mobile number as a receptionist types it, in one of the ways seen in real clinics; some cells
 * hold two numbers, or a remark. Ten digits derived from the id: unique per patient.
 */
export function typedMobile(id: number): string {
  const digits = `9${pad(id % 100, 2)}${pad(id % 10_000_000, 7)}`;
  const [code, a, b, c] = [digits.slice(0, 3), digits.slice(3, 6), digits.slice(6, 8), digits.slice(8)];
  switch (id % 8) {
    case 0:
      return `8 (${code}) ${a}-${b}-${c}`;
    case 1:
      return `+7 ${code} ${a}-${b}-${c}`;
    case 2:
      return `8${digits}`;
    case 3:
      return digits;
    case 4:
      return `+7(${code})${a}-${b}-${c}`;
    case 5:
      return `8-${code}-${a}-${b}-${c}`;
    case 6:
      return `8 ${code} ${a} ${b} ${c}, 8 9${pad((id + 37) % 100, 2)} ${pad((id * 7 + 1) % 1000, 3)} ${pad(id % 100, 2)} ${pad((id * 3) % 100, 2)}`;
    default:
      return `+7 ${code} ${a} ${b} ${c} (моб.)`;
  }
}

/** Born before 1970 (about a third of the synthetic clinic, as in a real one); 1900-01-01 is IDENT's "unknown". */
export const bornBefore1970 = (row: Row) =>
  row.BirthDate instanceof Date &&
  row.BirthDate.getUTCFullYear() > 1900 &&
  row.BirthDate.getUTCFullYear() < 1970;

/** A realistic synthetic patient: some fields filled, some empty, as in a real clinic. */
export function syntheticPatient(id: number, changedAt: Date, version = 0): Row {
  const pick = <T>(list: readonly T[], salt: number) => list[(id * 7 + salt) % list.length]!;
  const has = (salt: number, percent: number) => (id * 31 + salt * 17) % 100 < percent;
  return {
    PatientId: id,
    Surname: pick(SURNAMES, 1),
    Name: pick(NAMES, 2),
    Patronymic: has(1, 80) ? `${pick(NAMES, 3)}ович` : null,
    MobilePhone: has(2, 90) ? typedMobile(id) : null,
    Phone: has(3, 20) ? `+7 343 ${String(2_000_000 + (id % 7_000_000))}` : null,
    Email: has(4, 30) ? (id % 5 === 0 ? `Patient${id}@Example.RU` : `patient${id}@example.ru`) : null,
    // Years 1935–2020: about 40 % of the dated patients, a third of all, were born before 1970.
    BirthDate: has(5, 85)
      ? new Date(Date.UTC(1935 + ((id * 13) % 86), id % 12, 1 + (id % 28)))
      : new Date(Date.UTC(1900, 0, 1)),
    Sex: has(6, 90) ? 1 + (id % 2) : null,
    CardNumber: `К-${id}`,
    Comment: has(7, 25) ? `Комментарий ${id} v${version}` : null,
    PatientNumber: String(id),
    StatusCode: 1,
    ArchivingReason: has(8, 5) ? 'Переезд' : null,
    BranchName: has(9, 70) ? 'Клиника на Ленина' : null,
    City: has(10, 60) ? 'Екатеринбург' : null,
    INN: has(11, 10) ? String(660000000000 + id) : null,
    SNILS: null,
    Passport: has(12, 10) ? `65${String(id % 100).padStart(2, '0')} ${String(100000 + (id % 900000))}` : null,
    FirstVisitDate: has(13, 70) ? new Date(Date.UTC(2015 + (id % 10), id % 12, 1)) : null,
    VisitCount: id % 40,
    VisitSum: (id % 40) * 1500 + version,
    DiscountPercent: has(14, 15) ? 5 : null,
    Advance: has(15, 20) ? 1000 : 0,
    Debt: has(16, 15) ? 2500.5 : 0,
    SmsRejection: has(17, 5),
    ChangedAt: changedAt,
    Address: has(18, 40) ? `ул. Ленина, д. ${id % 200}` : null,
    InfoSource: has(19, 50) ? 'Рекомендация знакомых' : null,
  };
}
