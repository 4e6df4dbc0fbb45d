import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatients as patients } from '../helpers/memory-source.ts';
import { runSyncChild, syncChildEnv } from '../helpers/sync-child-process.ts';
import { assertConverged, syncStack } from '../helpers/sync-stack.ts';

describe('durability: kill -9, SIGTERM, faults', () => {
  let emulator: AmoCrmEmulator;
  let token: string;
  before(async () => {
    emulator = await startEmulator({ seed: 11 });
    token = 'child-token-0123456789';
    emulator.addLongLivedToken(token);
    await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
  });
  after(async () => {
    await emulator.stop();
  });

  it('kill -9 of the sync process mid-run, then a restart: no duplicate, nothing missing', async () => {
    const count = 600;
    const stateDir = tempDir();
    const env = syncChildEnv(emulator, token, stateDir, count);
    const writesAtStart = emulator.writeRequests().length;
    const killed = await runSyncChild(env, {
      killWhen: () => emulator.writeRequests().length - writesAtStart >= 4,
    });
    assert.equal(killed.signal, 'SIGKILL');
    const landed = emulator.contacts.size;
    assert.ok(landed > 0 && landed < count, `${landed} contacts when killed`);
    const restarted = await runSyncChild(env);
    assert.equal(restarted.code, 0);
    assert.equal(restarted.result!.outcome, 'ok');
    // Creates the kill stopped before they left stay pending until amoCRM has had time: a later run sends them.
    const later = await runSyncChild({ ...env, CLOCK_ELAPSED_MS: String(PAST_PENDING_WAIT_MS) });
    assert.equal(later.result!.outcome, 'ok');
    assert.equal(later.result!.pending, 0);
    const source = new MemorySource(patients(count));
    const stack = await syncStack(emulator, source, { stateDir: tempDir() });
    await assertConverged(emulator, source, stack);
  });

  it('SIGTERM mid-run stops cleanly after the batches in flight; the next run finishes the job', async () => {
    const fresh = await startEmulator({ seed: 12 });
    try {
      fresh.addLongLivedToken(token);
      await createMissingFields(shippedMap(), longLivedClient(fresh).fields);
      const stateDir = tempDir();
      const env = syncChildEnv(fresh, token, stateDir, 400);
      const stopped = await runSyncChild(env, {
        killWhen: () => fresh.writeRequests().length >= 2,
        signal: 'SIGTERM',
      });
      assert.equal(stopped.code, 0);
      assert.equal(stopped.result!.outcome, 'stopped');
      const second = await runSyncChild(env);
      assert.equal(second.result!.outcome, 'ok');
      const source = new MemorySource(patients(400));
      const stack = await syncStack(fresh, source, { stateDir: tempDir() });
      await assertConverged(fresh, source, stack);
    } finally {
      await fresh.stop();
    }
  });

  it('5xx answers, timeouts with the write applied and 429 bursts: runs converge with no duplicate', async () => {
    const fresh = await startEmulator({ seed: 13 });
    try {
      const source = new MemorySource(patients(500));
      const client = longLivedClient(fresh, { timeoutMs: 400 });
      const stack = await syncStack(fresh, source, { client });
      fresh.setFaults({
        serverErrorRate: 0.1,
        slowRate: 0.05,
        slowMs: 800,
        tooManyRate: 0.05,
        dropRate: 0.02,
      });
      let runs = 0;
      for (; runs < 6; runs++) {
        const result = await stack.run({ kind: 'deep' });
        if (result.outcome === 'ok' && result.failed === 0 && stack.store.pending().length === 0) break;
      }
      fresh.setFaults({});
      const final = await stack.run({ kind: 'deep' });
      assert.equal(final.outcome, 'ok');
      await assertConverged(fresh, source, stack);
      // Not the arrivals per second: on a busy machine they depend on the host's load (test/sim judges the pace).
      assert.equal(fresh.blocked, false);
    } finally {
      await fresh.stop();
    }
  });

  it('the SQL source failing mid-stream fails the run without moving the checkpoint; the next run picks up', async () => {
    const fresh = await startEmulator({ seed: 14 });
    try {
      const source = new MemorySource(patients(300));
      const stack = await syncStack(fresh, source);
      source.failAfter = 120;
      const broken = await stack.run();
      assert.equal(broken.outcome, 'failed');
      assert.match(broken.error!.message, /connection to SQL Server was lost/);
      assert.equal(stack.store.checkpoint(), undefined);
      const next = await stack.run();
      assert.equal(next.outcome, 'ok');
      assert.ok(stack.store.checkpoint());
      await assertConverged(fresh, source, stack);
    } finally {
      await fresh.stop();
    }
  });
});
