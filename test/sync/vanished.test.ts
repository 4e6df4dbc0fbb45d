import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SyncRequest } from '../../src/streams/contacts/run.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';
import { compareWithSource, syncStack } from '../helpers/sync-stack.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { syncRunFor } from '../../src/streams/runner/context.ts';

/**
 * An office PC: switched on in the morning after the 08:00 slot, off before 20:00. The daemon's first
 * tick after boot runs the overdue deep sync; incremental runs follow every 5 minutes all day.
 */
describe('a contact deleted or merged away, on a PC booted daily', () => {
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

describe('vanished contacts end: replaced, or their patient gone from IDENT', () => {
  it('V1: a patient deleted from IDENT after its contact vanished is no longer counted as gone', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(3, 100));
      const stack = await syncStack(emulator, source);
      await stack.run({ kind: 'deep' });
      emulator.deleteContact(stack.store.link('101')!.contactId);
      await stack.run({ kind: 'deep' });
      assert.equal(stack.store.vanishedCount(), 1);
      source.remove('101');
      for (let day = 0; day < 3; day++) {
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        assert.equal((await stack.run({ kind: 'deep' })).outcome, 'ok');
      }
      assert.equal(
        stack.store.vanishedCount(),
        0,
        '`status` says "contacts gone: 1" for a patient IDENT no longer has',
      );
    } finally {
      await emulator.stop();
    }
  });

  it('V2: a dry-run deep sync past the wait says what the real one does', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(3, 100));
      const stack = await syncStack(emulator, source);
      await stack.run({ kind: 'deep' });
      emulator.deleteContact(stack.store.link('101')!.contactId);
      await stack.run({ kind: 'deep' });
      stack.clock.advance(PAST_PENDING_WAIT_MS);
      const dry = await stack.run({ kind: 'deep' }, { dryRun: true });
      const real = await stack.run({ kind: 'deep' });
      assert.equal(real.created, 1);
      assert.equal(dry.created, real.created, `dry run: created ${dry.created}, pending ${dry.pending}`);
    } finally {
      await emulator.stop();
    }
  });
});
