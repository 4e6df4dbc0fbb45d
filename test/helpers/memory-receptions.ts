import { previousVisitAt } from '../../src/demo/receptions.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import type { ReceptionRow } from '../../src/mapping/deal-mapper.ts';
import type { MemorySource } from './memory-source.ts';

export interface Reception {
  ReceptionId: number;
  PatientId: number;
  PlanStart: Date;
  Doctor?: string | null;
  CanceledAt?: Date | null;
  EndedAt?: Date | null;
  ArrivedAt?: Date | null;
  Services?: string | null;
  Sum?: number | null;
  CancelReason?: string | null;
  ChangedAt: Date;
}

/**
 * Receptions in memory on the patients' clock (IDENT has one clock): `touch` changes one and stamps
 * it. PreviousVisitAt is worked out as receptions.sql does, from the other receptions' state now.
 */
export class MemoryReceptions implements ReceptionSource {
  readonly rows = new Map<number, Reception>();
  private readonly clock: MemorySource;
  /**
   * The deal map's no-show hours, for receptions-select-changed.sql's last selection (the visits
   * that became overdue since `since`, by IDENT's clock with an hour's margin); none when unset.
   */
  noShowHours: number | null = null;

  constructor(clock: MemorySource, rows: Omit<Reception, 'ChangedAt'>[] = []) {
    this.clock = clock;
    for (const row of rows) this.put(row);
  }

  put(row: Omit<Reception, 'ChangedAt'>): void {
    this.rows.set(row.ReceptionId, { Doctor: 'Зубов Пётр Ильич', ...row, ChangedAt: this.clock.tick(10) });
  }

  touch(id: number, changes: Partial<Reception>): void {
    const row = this.rows.get(id);
    if (!row) throw new Error(`no reception ${id}`);
    this.rows.set(id, { ...row, ...changes, ChangedAt: this.clock.tick(10) });
  }

  async *changedSince(since: Date, windowStart: Date): AsyncGenerator<ReceptionRow> {
    const ids = new Set<number>();
    for (const row of this.rows.values()) {
      if (row.ChangedAt < since) continue;
      ids.add(row.ReceptionId);
      for (const later of this.rows.values())
        if (
          later.PatientId === row.PatientId &&
          later.PlanStart > row.PlanStart &&
          later.PlanStart >= windowStart
        )
          ids.add(later.ReceptionId);
    }
    if (this.noShowHours !== null)
      for (const row of this.rows.values()) {
        const end = row.PlanStart.getTime() + 1_800_000;
        if (
          end >= since.getTime() - (this.noShowHours + 1) * 3_600_000 &&
          end < this.clock.clock.getTime() - this.noShowHours * 3_600_000
        )
          ids.add(row.ReceptionId);
      }
    for (const id of [...ids].sort((a, b) => a - b)) yield this.full(this.rows.get(id)!);
  }

  async *window(windowStart: Date): AsyncGenerator<ReceptionRow> {
    for (const id of [...this.rows.keys()].sort((a, b) => a - b)) {
      const row = this.rows.get(id)!;
      if (row.PlanStart >= windowStart) yield this.full(row);
    }
  }

  async one(receptionId: string): Promise<ReceptionRow | undefined> {
    const row = this.rows.get(Number(receptionId));
    return row ? this.full(row) : undefined;
  }

  full(row: Reception): ReceptionRow {
    const visits = [...this.rows.values()].filter((other) => other.PatientId === row.PatientId);
    return {
      PlanEnd: new Date(row.PlanStart.getTime() + 1_800_000),
      Chair: 'Кресло 1',
      Branch: 'Клиника на Ленина',
      CanceledAt: null,
      EndedAt: null,
      ArrivedAt: null,
      Services: null,
      Sum: null,
      CancelReason: null,
      ...row,
      PreviousVisitAt: previousVisitAt(row.PlanStart, visits),
    };
  }
}
