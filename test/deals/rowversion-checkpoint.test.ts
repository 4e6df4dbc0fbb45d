import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeMark } from '../../src/ident/patient-source.ts';
import type { ReceptionRow } from '../../src/mapping/deal-mapper.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient } from '../helpers/memory-source.ts';
import { attackEmulator, attackStack } from './stack.ts';

const wall = (day: number, hour: number) => new Date(Date.UTC(2026, 10, day, hour));

/** IDENT with a rowversion: each clock read hands out the next mark, as MIN_ACTIVE_ROWVERSION() does. */
class RowVersionedSource extends MemorySource {
  mark = 0x7d0;
  override async now(): Promise<ChangeMark> {
    this.mark += 1;
    return { ...(await super.now()), rowVersion: this.mark.toString(16).padStart(16, '0') };
  }
}

class RecordingReceptions extends MemoryReceptions {
  readonly marks: (string | undefined)[] = [];
  override async *changedSince(
    since: Date,
    windowStart: Date,
    sinceRowVersion?: string,
  ): AsyncGenerator<ReceptionRow> {
    this.marks.push(sinceRowVersion);
    yield* super.changedSince(since, windowStart);
  }
}

describe('the deal checkpoint carries IDENT’s rowversion mark', () => {
  it('an incremental deal run selects changed visits from the mark read as the last run began', async () => {
    const emulator = await attackEmulator();
    const patients = new RowVersionedSource([syntheticPatient(1, wall(1, 9))], wall(20, 10));
    const receptions = new RecordingReceptions(patients, [
      { ReceptionId: 10, PatientId: 1, PlanStart: wall(25, 10) },
    ]);
    const stack = await attackStack(emulator, patients, receptions);
    try {
      await stack.both('incremental'); // the first run reads the window and sets the checkpoint
      const first = stack.store.deals.checkpoint()?.rowVersion;
      assert.ok(first, 'the checkpoint keeps the mark');
      await stack.both('incremental');
      assert.deepEqual(receptions.marks, [first]);
    } finally {
      stack.store.close();
      await emulator.stop();
    }
  });
});
