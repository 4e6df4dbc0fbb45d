import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOST } from '../../src/emulator/leads.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient } from '../helpers/memory-source.ts';
import { attackEmulator, attackStack, dealOf } from './stack.ts';

const wall = (day: number, hour: number) => new Date(Date.UTC(2026, 10, day, hour));

/**
 * A clinic with more than 500 open deals of visits before RECEPTIONS_DAYS_BACK (no-shows stay open in
 * «Не пришёл», a manager's open stage): each deep sync asks IDENT about the same first 500 by id, and
 * a reception deleted further down the list is never closed.
 */
describe('attack: deleted receptions behind 500 old open deals', () => {
  it('a reception deleted in IDENT is closed by a deep sync however many old open deals come before it', async () => {
    const emulator = await attackEmulator();
    const patients = new MemorySource([syntheticPatient(1, wall(1, 9))], wall(20, 10));
    const rows = Array.from({ length: 502 }, (_, index) => ({
      ReceptionId: 1000 + index,
      PatientId: 1,
      // Long before the 30-day window; still booked in IDENT: a no-show, open in «Не пришёл».
      PlanStart: new Date(Date.UTC(2025, 0, 1 + (index % 300), 10)),
    }));
    const receptions = new MemoryReceptions(patients, rows);
    const stack = await attackStack(emulator, patients, receptions);
    try {
      // The first run reads them all (the window of the first run is wide), then deep syncs read 30 days.
      const first = await stack.both('incremental');
      assert.equal(first.created, 502);
      receptions.rows.delete(1501);
      for (let run = 0; run < 3; run += 1) await stack.both('deep', { daysBack: 30 });
      assert.equal(
        dealOf(emulator, stack, 1501).status_id,
        LOST,
        'the deleted reception’s deal is still open after three deep syncs',
      );
    } finally {
      stack.store.close();
      await emulator.stop();
    }
  });
});
