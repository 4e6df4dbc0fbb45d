import type { ChangeMark, PatientSource } from '../ident/patient-source.ts';
import type { PatientRow } from '../mapping/mapper.ts';

/**
 * A synthetic dental clinic: patients made up from their id, as varied as a real clinic's (a third
 * born before 1970, mobiles typed in eight ways, some cells with two numbers, e-mails in mixed
 * case, empty fields). Every name, number and document is invented. Used by `ident-sync demo`, the
 * benchmark and the tests.
 */

/** When the synthetic patients last changed in IDENT. */
export const T0 = new Date(Date.UTC(2026, 10, 20, 10));

export type ClinicRow = Record<string, unknown> & { PatientId: number | string; ChangedAt: Date };
type Row = ClinicRow;

/** Surnames in their male form; the female adds «а» (Козлов → Козлова). */
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
const MALE_NAMES = [
  'Иван',
  'Пётр',
  'Сергей',
  'Дмитрий',
  'Алексей',
  'Андрей',
  'Михаил',
  'Николай',
  'Игорь',
  'Юрий',
];
const FEMALE_NAMES = [
  'Мария',
  'Анна',
  'Ольга',
  'Елена',
  'Татьяна',
  'Наталья',
  'Ирина',
  'Светлана',
  'Екатерина',
  'Юлия',
];
/** Patronymics from the fathers' names above, in the son's and the daughter's form. */
const PATRONYMICS: readonly (readonly [string, string])[] = [
  ['Иванович', 'Ивановна'],
  ['Петрович', 'Петровна'],
  ['Сергеевич', 'Сергеевна'],
  ['Дмитриевич', 'Дмитриевна'],
  ['Алексеевич', 'Алексеевна'],
  ['Андреевич', 'Андреевна'],
  ['Михайлович', 'Михайловна'],
  ['Николаевич', 'Николаевна'],
  ['Игоревич', 'Игоревна'],
  ['Юрьевич', 'Юрьевна'],
];

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
  const female = id % 2 === 1;
  return {
    PatientId: id,
    // Surname, name and patronymic agree with the patient's sex (Sex 1 male, 2 female).
    Surname: `${pick(SURNAMES, 1)}${female ? 'а' : ''}`,
    Name: pick(female ? FEMALE_NAMES : MALE_NAMES, 2),
    Patronymic: has(1, 80) ? pick(PATRONYMICS, 3)[female ? 1 : 0] : null,
    MobilePhone: has(2, 90) ? typedMobile(id) : null,
    Phone: has(3, 20) ? `+7 343 ${String(2_000_000 + (id % 7_000_000))}` : null,
    Email: has(4, 30) ? (id % 5 === 0 ? `Patient${id}@Example.RU` : `patient${id}@example.ru`) : null,
    // Years 1935–2020: about 40 % of the dated patients, a third of all, were born before 1970.
    BirthDate: has(5, 85)
      ? new Date(Date.UTC(1935 + ((id * 13) % 86), id % 12, 1 + (id % 28)))
      : new Date(Date.UTC(1900, 0, 1)),
    Sex: has(6, 90) ? (female ? 2 : 1) : null,
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

/**
 * N synthetic patients made on the fly from their id (nothing held per patient except the few
 * that changed), so a benchmark measures the sync's memory, not the fixture's. Like IDENT it has a
 * clock of its own: every change is stamped after the moment the last run read it.
 */
export class GeneratedSource implements PatientSource {
  readonly firstId: number;
  private size: number;
  private readonly base = new Date(Date.UTC(2026, 10, 20, 10));
  private readonly changed = new Map<
    number,
    { version: number; at: Date; overrides?: Record<string, unknown> }
  >();
  clock = new Date(Date.UTC(2026, 10, 20, 11));
  /** The clinic's real time, ms: no change is stamped before it (the demo: IDENT's wall clock). */
  realTime: () => number = Date.now;
  /** The row of patient `id` (a chain's clinic makes its own people; syntheticPatient by default). */
  private readonly make: (id: number, changedAt: Date, version: number) => Row;

  constructor(
    count: number,
    firstId = 1,
    make: (id: number, changedAt: Date, version: number) => Row = syntheticPatient,
  ) {
    this.size = count;
    this.firstId = firstId;
    this.make = make;
  }

  get count(): number {
    return this.size;
  }

  /** Changes `share` of the patients (spread evenly), stamped after the current clock. */
  change(share: number): number {
    const every = Math.max(1, Math.round(1 / share));
    this.clock = new Date(this.clock.getTime() + 60_000);
    let changed = 0;
    for (let offset = 0; offset < this.size; offset += every) {
      const id = this.firstId + offset;
      this.changed.set(id, {
        ...this.changed.get(id),
        version: (this.changed.get(id)?.version ?? 0) + 1,
        at: new Date(this.clock.getTime() + changed),
      });
      changed += 1;
    }
    this.clock = new Date(this.clock.getTime() + 60_000);
    return changed;
  }

  /** One patient edited in IDENT: `overrides` replace columns of its row from now on. */
  edit(id: number, overrides: Record<string, unknown>): void {
    // Stamped after every earlier change, and no earlier than now (the demo's clinic keeps real time).
    this.clock = new Date(Math.max(this.clock.getTime() + 1000, this.realTime()));
    const before = this.changed.get(id);
    this.changed.set(id, {
      version: (before?.version ?? 0) + 1,
      at: this.clock,
      overrides: { ...before?.overrides, ...overrides },
    });
  }

  /** A new patient registered in IDENT; returns its id. */
  add(): number {
    const id = this.firstId + this.size;
    this.size += 1;
    this.edit(id, {});
    return id;
  }

  /** Patients born before 1970: every one, or those changed so far. */
  bornBefore1970(onlyChanged = false): number {
    let count = 0;
    const each = (id: number) => {
      if (bornBefore1970(this.row(id) as ClinicRow)) count += 1;
    };
    if (onlyChanged) [...this.changed.keys()].forEach(each);
    else for (let id = this.firstId; id < this.firstId + this.size; id++) each(id);
    return count;
  }

  row(id: number): PatientRow {
    const change = this.changed.get(id);
    const row = this.make(id, change?.at ?? this.base, change?.version ?? 0);
    return change?.overrides ? { ...row, ...change.overrides } : row;
  }

  async now(): Promise<ChangeMark> {
    return { at: this.clock };
  }

  async *changedSince(since: ChangeMark): AsyncGenerator<PatientRow> {
    const ids = [...this.changed]
      .filter(([, change]) => change.at >= since.at)
      .map(([id]) => id)
      .sort((a, b) => a - b);
    for (const id of ids) yield this.row(id);
  }

  async *all(): AsyncGenerator<PatientRow> {
    for (let id = this.firstId; id < this.firstId + this.size; id++) {
      if ((id - this.firstId) % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      yield this.row(id);
    }
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    const id = Number(patientId);
    return id >= this.firstId && id < this.firstId + this.size ? this.row(id) : undefined;
  }

  async stats() {
    return { patients: this.size, newestChange: this.clock };
  }

  async close(): Promise<void> {}
}
