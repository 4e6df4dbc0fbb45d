import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { DealSetupError, openSyncContext } from '../../src/streams/runner/context.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';

/**
 * SYNC_RECEPTIONS turned on (an upgrade) before `fields --create --pipelines` ran: the deals wait
 * for the set-up, the contacts do not. It used to stop the daemon at start (exit 2), contacts too.
 */
describe('deals not set up in amoCRM yet', () => {
  let emulator: AmoCrmEmulator;
  const token = 'deal-setup-token-0123456789';
  before(async () => {
    emulator = await startEmulator();
    emulator.addLongLivedToken(token);
    await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
  });
  after(async () => {
    await emulator.stop();
  });

  const parts = (stateDir: string) => {
    const config = loadConfig({
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_LONG_LIVED_TOKEN: token,
      STATE_DIR: stateDir,
      HEALTH_PORT: '0',
      SYNC_RECEPTIONS: 'true',
    });
    const source = new MemorySource(syntheticPatients(30, 70_000));
    const receptions = new MemoryReceptions(source, [
      { ReceptionId: 1, PatientId: 70_001, PlanStart: new Date('2099-01-10T09:00:00Z') },
      { ReceptionId: 2, PatientId: 70_002, PlanStart: new Date('2099-01-11T09:00:00Z') },
    ]);
    const store = new StateStore(stateDir);
    return { config, source, receptions, store, client: longLivedClient(emulator) };
  };

  it('the daemon keeps running and syncs the contacts, unhealthy with the sentence that names the fix', async () => {
    const { config, source, receptions, store, client } = parts(tempDir());
    const openContext = () => openSyncContext(config, silentLogger(), { client, source, receptions, store });
    const daemon = new Daemon({ config, logger: silentLogger(), openContext, anyHealthPort: true });
    try {
      await daemon.start();
      for (let attempt = 0; attempt < 400 && !/deal sync failed/.test(daemon.status.reason); attempt++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(daemon.exitCode, 0);
      const response = await fetch(`http://127.0.0.1:${daemon.healthPort}/healthz`);
      assert.equal(response.status, 503);
      const reason = ((await response.json()) as { reason: string }).reason;
      assert.match(reason, /^last initial deal sync failed: .*`ident-sync fields --create --pipelines`/);
      assert.equal(store.linkCount(), 30, 'every patient got its contact');
      assert.equal(emulator.deals.leads.size, 0);
      assert.equal(store.deals.lastRun()?.outcome, 'failed');
      assert.match(store.deals.lastRun()?.error ?? '', /fields --create --pipelines/);
    } finally {
      await daemon.stop();
    }
  });

  it('once the pipelines are created the next run syncs the deals, without a restart', async () => {
    const { config, source, receptions, store, client } = parts(tempDir());
    const context = await openSyncContext(config, silentLogger(), { client, source, receptions, store });
    try {
      const first = await context.syncAll('incremental');
      assert.equal(first.outcome, 'ok');
      assert.equal(first.deals?.outcome, 'failed');
      assert.ok(first.deals?.error instanceof DealSetupError);
      await assert.rejects(context.readyDeals(), DealSetupError);

      const map = shippedDealMap();
      await createMissingFields(map, client.leadFields, 'deal');
      await createMissingPipelines(map, client.pipelines);
      const second = await context.syncAll('incremental');
      assert.equal(second.deals?.outcome, 'ok', second.deals?.error?.message);
      assert.equal(second.deals?.created, 2);
      assert.equal(emulator.deals.leads.size, 2);
    } finally {
      await context.close();
    }
  });
});
