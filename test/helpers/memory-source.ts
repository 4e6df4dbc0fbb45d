import type { ChangeMark, PatientSource } from '../../src/ident/patient-source.ts';
import type { PatientRow } from '../../src/mapping/mapper.ts';

import { type ClinicRow as Row, T0 } from '../../src/demo/clinic.ts';

export {
  bornBefore1970,
  syntheticPatient,
  syntheticPatients,
  T0,
  typedMobile,
} from '../../src/demo/clinic.ts';

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
