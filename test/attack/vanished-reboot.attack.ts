import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/logging/logger.ts';
import { syncRunFor } from '../../src/sync/context.ts';
import type { SyncRequest } from '../../src/sync/run.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { compareWithSource, syncStack } from '../helpers/sync-stack.ts';

/**
 * An office PC: switched on in the morning after the 08:00 slot, off before 20:00. The daemon's first
 * tick after boot runs the overdue deep sync; incremental runs follow every 5 minutes all day.
 */
describe('attack: vanished contact on a PC booted daily', () => {
  it('a patient whose contact was deleted gets a contact again within a few days', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(5, 100));
      const stack = await syncStack(emulator, source);
      let boot = 'boot-1';
      const run = (request: SyncRequest = { kind: 'incremental' }) =>
        syncRunFor(
          {
            source,
            mapper: stack.mapper,
            resolved: stack.resolved,
            client: stack.client,
            store: stack.store,
            logger: silentLogger(),
            timeZone: 'Europe/Moscow',
            clock: stack.clock,
            boot,
          },
          { batchSize: 50, matchByPhone: true, overlapSeconds: 300, progressEveryMs: 60_000 },
        ).run(request);
      assert.equal((await run({ kind: 'deep' })).created, 5);
      const victim = stack.store.link('101')!.contactId;
      emulator.deleteContact(victim);
      for (let day = 1; day <= 5; day++) {
        boot = `boot-${day + 1}`;
        // First tick after boot: the overdue deep sync.
        const deep = await run({ kind: 'deep' });
        assert.equal(deep.outcome, 'ok');
        // 11 hours of incremental runs (one an hour here: each run restamps nothing more).
        for (let tick = 0; tick < 11; tick++) {
          stack.clock.advance(60 * 60_000);
          await run();
        }
        // Night: the PC is off (wall clock moves on, monotonic restarts on the next boot).
        stack.clock.advance(13 * 3_600_000);
      }
      const comparison = await compareWithSource(emulator, source, stack);
      assert.equal(
        comparison.missing,
        0,
        `after 5 days patient 101 still has no contact; vanished entries: ${JSON.stringify(stack.store.vanished())}`,
      );
    } finally {
      await emulator.stop();
    }
  });
});
