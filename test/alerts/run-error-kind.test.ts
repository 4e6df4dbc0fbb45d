import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';

describe('a failed run records why, for the alerts', () => {
  let emulator: AmoCrmEmulator;
  before(async () => {
    emulator = await startEmulator();
    await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
  });
  after(async () => {
    await emulator.stop();
  });

  it('amoCRM answering 402 during a run: the run row says unpaid, and a good run says nothing', async () => {
    const stateDir = tempDir('alerts-kind-');
    const config = loadConfig({
      AMOCRM_BASE_URL: emulator.baseUrl,
      STATE_DIR: stateDir,
      AMOCRM_LONG_LIVED_TOKEN: 'x',
    });
    const store = new StateStore(stateDir);
    const context = await openSyncContext(config, silentLogger(), {
      client: longLivedClient(emulator),
      source: new MemorySource(syntheticPatients(5, 80_000)),
      store,
    });
    try {
      emulator.strict.paymentRequired = true;
      const failed = await context.syncAll('incremental');
      assert.equal(failed.outcome, 'failed');
      assert.equal(store.lastRuns(1)[0]!.errorKind, 'unpaid');
      emulator.strict.paymentRequired = false;
      const ok = await context.syncAll('incremental');
      assert.equal(ok.outcome, 'ok');
      assert.equal(store.lastRuns(1)[0]!.errorKind, null);
    } finally {
      emulator.strict.paymentRequired = false;
      await context.close();
    }
  });
});
