import type { ChangeMark, PatientSource } from '../../src/ident/patient-source.ts';
import type { PatientRow } from '../../src/mapping/mapper.ts';
import { bornBefore1970, syntheticPatient } from './memory-source.ts';

/**
 * N synthetic patients made on the fly from their id (nothing held per patient except the few
 * that changed), so a benchmark measures the sync's memory, not the fixture's.
 */
export class GeneratedSource implements PatientSource {
  readonly count: number;
  readonly firstId: number;
  private readonly base = new Date(Date.UTC(2026, 10, 20, 10));
  private readonly changed = new Map<number, { version: number; at: Date }>();
  clock = new Date(Date.UTC(2026, 10, 20, 11));

  constructor(count: number, firstId = 1) {
    this.count = count;
    this.firstId = firstId;
  }

  /** Changes `share` of the patients (spread evenly), stamped after the current clock. */
  change(share: number): number {
    const every = Math.max(1, Math.round(1 / share));
    this.clock = new Date(this.clock.getTime() + 60_000);
    let changed = 0;
    for (let offset = 0; offset < this.count; offset += every) {
      const id = this.firstId + offset;
      this.changed.set(id, {
        version: (this.changed.get(id)?.version ?? 0) + 1,
        at: new Date(this.clock.getTime() + changed),
      });
      changed += 1;
    }
    this.clock = new Date(this.clock.getTime() + 60_000);
    return changed;
  }

  /** Patients born before 1970: every one, or those changed by the last `change`. */
  bornBefore1970(onlyChanged = false): number {
    let count = 0;
    const ids = onlyChanged ? [...this.changed.keys()] : undefined;
    const each = (id: number) => {
      if (bornBefore1970(this.row(id) as Parameters<typeof bornBefore1970>[0])) count += 1;
    };
    if (ids) ids.forEach(each);
    else for (let id = this.firstId; id < this.firstId + this.count; id++) each(id);
    return count;
  }

  row(id: number): PatientRow {
    const change = this.changed.get(id);
    return syntheticPatient(id, change?.at ?? this.base, change?.version ?? 0);
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
    for (let id = this.firstId; id < this.firstId + this.count; id++) {
      if ((id - this.firstId) % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      yield this.row(id);
    }
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    const id = Number(patientId);
    return id >= this.firstId && id < this.firstId + this.count ? this.row(id) : undefined;
  }

  async stats() {
    return { patients: this.count, newestChange: this.clock };
  }

  async close(): Promise<void> {}
}
