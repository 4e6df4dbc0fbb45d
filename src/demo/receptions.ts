import type { ReceptionSource } from '../ident/reception-source.ts';
import type { ReceptionRow } from '../mapping/deal-mapper.ts';
import { T0 } from './clinic.ts';

/**
 * A synthetic clinic's receptions, made up from their id like its patients: reception i belongs
 * to patient (i − 1) mod P, is its ((i − 1) div P)-th visit, four weeks after the one before; the
 * last of each patient lies ahead (booked), the others happened (one in ten was cancelled). Nothing
 * is held per reception except the few that changed, so memory stays flat at 100 000 receptions.
 */

const DOCTORS = [
  'Зубов Пётр Ильич',
  'Клыкова Анна Сергеевна',
  'Резцов Олег Викторович',
  'Белова Мария Павловна',
];
const SERVICES = ['Осмотр', 'Чистка', 'Пломба', 'Рентген', 'Удаление', 'Коронка'];

export class GeneratedReceptions implements ReceptionSource {
  private size: number;
  /** The synthetic receptions; later ids are bookings made since. */
  private readonly baseSize: number;
  private readonly bookedBy = new Map<number, number[]>();
  readonly patients: number;
  readonly firstPatientId: number;
  readonly firstId: number;
  private readonly changed = new Map<number, { at: Date; overrides: Record<string, unknown> }>();
  /** IDENT's clock, as the patient source's (the demo and tests move it forward). */
  clock: Date;
  /** The clinic's real time, ms: no change is stamped before it (the demo: IDENT's wall clock). */
  realTime: () => number = Date.now;
  /** "Now" of the synthetic history: visits before it happened, the last of each lies after it. */
  private readonly t0: Date;

  constructor(
    count: number,
    patients: { count: number; firstId?: number },
    options: { firstId?: number; clock?: Date; t0?: Date } = {},
  ) {
    this.size = count;
    this.baseSize = count;
    this.patients = patients.count;
    this.firstPatientId = patients.firstId ?? 1;
    this.firstId = options.firstId ?? 1;
    this.t0 = options.t0 ?? T0;
    this.clock = options.clock ?? new Date(this.t0.getTime() + 3_600_000);
  }

  get count(): number {
    return this.size;
  }

  /** Visits per patient, the latest one ahead. */
  private get perPatient(): number {
    return Math.max(1, Math.ceil(this.baseSize / this.patients));
  }

  /** When reception `index` (0-based) is planned: IDENT's wall clock as the driver hands it over. */
  private planStart(index: number): Date {
    const patient = index % this.patients;
    const visit = Math.floor(index / this.patients);
    const daysFromT0 = (visit - this.perPatient + 1) * 28 + 2 + (patient % 7);
    return new Date(
      Date.UTC(
        this.t0.getUTCFullYear(),
        this.t0.getUTCMonth(),
        this.t0.getUTCDate() + daysFromT0,
        9 + (patient % 9),
        (patient * 15) % 60,
      ),
    );
  }

  private state(index: number): 'booked' | 'ended' | 'cancelled' {
    if (this.planStart(index) > this.t0) return 'booked';
    return (index + 1) % 10 === 0 ? 'cancelled' : 'ended';
  }

  /** The synthetic reception with this id (before any change). */
  private made(id: number): ReceptionRow {
    const index = id - this.firstId;
    const patient = index % this.patients;
    const start = this.planStart(index);
    const state = this.state(index);
    let previous: Date | null = null;
    for (let earlier = index - this.patients; earlier >= 0; earlier -= this.patients) {
      if (this.stateOf(earlier + this.firstId) === 'ended') {
        previous = this.planStart(earlier);
        break;
      }
    }
    const minutes = (offset: number) => new Date(start.getTime() + offset * 60_000);
    return {
      ReceptionId: id,
      PatientId: this.firstPatientId + patient,
      PlanStart: start,
      PlanEnd: minutes(30),
      Doctor: DOCTORS[(patient + index) % DOCTORS.length],
      Chair: `Кресло ${1 + (patient % 4)}`,
      Branch: patient % 3 === 0 ? 'Клиника на Ленина' : 'Клиника на Мира',
      CanceledAt: state === 'cancelled' ? minutes(-600) : null,
      EndedAt: state === 'ended' ? minutes(30) : null,
      ArrivedAt: state === 'ended' ? start : null,
      CancelReason: state === 'cancelled' ? 'Пациент не пришёл' : null,
      Services:
        state === 'ended'
          ? `${SERVICES[index % SERVICES.length]}, ${SERVICES[(index + 2) % SERVICES.length]}`
          : null,
      Sum: state === 'ended' ? 1500 + (index % 20) * 250 : null,
      PreviousVisitAt: previous,
      ChangedAt: this.t0,
    };
  }

  /** The state a reception has now, changes included (what the pipeline rule of later visits reads). */
  private stateOf(id: number): 'booked' | 'ended' | 'cancelled' {
    const overrides = this.changed.get(id)?.overrides;
    if (!overrides) return this.state(id - this.firstId);
    const row = { ...this.made(id), ...overrides };
    return row.CanceledAt ? 'cancelled' : row.EndedAt ? 'ended' : 'booked';
  }

  row(id: number): ReceptionRow {
    const change = this.changed.get(id);
    const row = this.made(id);
    return change ? { ...row, ...change.overrides, ChangedAt: change.at } : row;
  }

  /** A reception edited in IDENT (completed, cancelled, moved…): `overrides` replace its columns from now on. */
  edit(id: number, overrides: Record<string, unknown>): void {
    this.clock = new Date(Math.max(this.clock.getTime() + 1000, this.realTime()));
    this.changed.set(id, { at: this.clock, overrides: { ...this.changed.get(id)?.overrides, ...overrides } });
  }

  /** A new booking for a patient, ahead of the clinic's clock; returns its id. */
  book(patientId: number, at: Date): number {
    const id = this.firstId + this.size;
    this.size += 1;
    this.bookedBy.set(patientId, [...(this.bookedBy.get(patientId) ?? []), id]);
    this.edit(id, {
      PatientId: patientId,
      PlanStart: at,
      PlanEnd: new Date(at.getTime() + 1_800_000),
      CanceledAt: null,
      EndedAt: null,
      ArrivedAt: null,
      Services: null,
      Sum: null,
      CancelReason: null,
    });
    return id;
  }

  /** The clinic completes a reception: the patient came, services were billed. */
  complete(id: number): void {
    const start = this.row(id).PlanStart as Date;
    this.edit(id, {
      ArrivedAt: start,
      EndedAt: new Date(start.getTime() + 1_800_000),
      Services: 'Осмотр',
      Sum: 2000,
    });
  }

  cancel(id: number): void {
    this.edit(id, { CanceledAt: this.clock, CancelReason: 'Перенос по просьбе пациента' });
  }

  /** The receptions of a patient, in id order: its synthetic visits, then its new bookings. */
  private idsOf(patientId: number): number[] {
    const ids: number[] = [];
    const first = this.firstId + (patientId - this.firstPatientId);
    for (let id = first; id < this.firstId + this.baseSize; id += this.patients) ids.push(id);
    return [...ids, ...(this.bookedBy.get(patientId) ?? [])];
  }

  async *changedSince(since: Date, windowStart: Date): AsyncGenerator<ReceptionRow> {
    const ids = new Set<number>();
    for (const [id, change] of this.changed) {
      if (change.at < since) continue;
      ids.add(id);
      const row = this.row(id);
      for (const other of this.idsOf(Number(row.PatientId))) {
        const later = this.row(other);
        if ((later.PlanStart as Date) > (row.PlanStart as Date) && (later.PlanStart as Date) >= windowStart)
          ids.add(other);
      }
    }
    for (const id of [...ids].sort((a, b) => a - b)) yield this.withPrevious(id);
  }

  async *window(windowStart: Date): AsyncGenerator<ReceptionRow> {
    for (let id = this.firstId; id < this.firstId + this.size; id++) {
      if ((id - this.firstId) % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      const row = this.withPrevious(id);
      if ((row.PlanStart as Date) >= windowStart) yield row;
    }
  }

  async one(receptionId: string): Promise<ReceptionRow | undefined> {
    const id = Number(receptionId);
    return Number.isInteger(id) && id >= this.firstId && id < this.firstId + this.size
      ? this.withPrevious(id)
      : undefined;
  }

  /** The row with PreviousVisitAt as IDENT would compute it now (changes of earlier visits included). */
  private withPrevious(id: number): ReceptionRow {
    const row = this.row(id);
    if (this.changed.size === 0) return row;
    const visits = this.idsOf(Number(row.PatientId)).map((other) => this.row(other));
    return { ...row, PreviousVisitAt: previousVisitAt(row.PlanStart as Date, visits) };
  }
}

/**
 * The latest completed, not cancelled visit of the patient's before `start`, as receptions.sql's
 * PreviousVisitAt (what puts a reception in the repeat pipeline); null for a first visit.
 */
export function previousVisitAt(
  start: Date,
  visits: Iterable<{ PlanStart?: unknown; EndedAt?: unknown; CanceledAt?: unknown }>,
): Date | null {
  let previous: Date | null = null;
  for (const visit of visits) {
    const at = visit.PlanStart as Date;
    if (at < start && visit.EndedAt && !visit.CanceledAt && (!previous || at > previous)) previous = at;
  }
  return previous;
}
