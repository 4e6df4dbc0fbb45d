import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';

describe('a deal stage removed while the daemon runs', () => {
  let emulator: AmoCrmEmulator;
  const token = 'a3-deal-setup-token-0123456789';
  before(async () => {
    emulator = await startEmulator();
    emulator.addLongLivedToken(token);
    await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
    await createMissingFields(shippedDealMap(), longLivedClient(emulator).leadFields, 'deal');
    await createMissingPipelines(shippedDealMap(), longLivedClient(emulator).pipelines);
  });
  after(async () => {
    await emulator.stop();
  });

  it('incremental runs after a stage is removed fail with the sentence naming the fix; few requests', async () => {
    const stateDir = tempDir();
    const config = loadConfig({
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_LONG_LIVED_TOKEN: token,
      STATE_DIR: stateDir,
      HEALTH_PORT: '0',
      SYNC_RECEPTIONS: 'true',
    });
    const source = new MemorySource(syntheticPatients(5, 70_000));
    const receptions = new MemoryReceptions(source, [
      { ReceptionId: 1, PatientId: 70_001, PlanStart: new Date('2099-01-10T09:00:00Z') },
    ]);
    const store = new StateStore(stateDir);
    const client = longLivedClient(emulator);
    const context = await openSyncContext(config, silentLogger(), { client, source, receptions, store });
    try {
      const first = await context.syncAll('incremental');
      assert.equal(first.deals?.outcome, 'ok');
      // An admin removes a stage the map needs (the deal is not in it).
      const map = shippedDealMap();
      const primary = [...emulator.deals.pipelines.values()].find(
        (p) => p.name === map.pipelines.primary.name,
      )!;
      const stageNames = primary.statuses.map((s) => s.name);
      const lead = [...emulator.deals.leads.values()][0]!;
      const victim = primary.statuses.find(
        (s) => s.id !== lead.status_id && s.id !== 142 && s.id !== 143 && s.type !== 1,
      )!;
      primary.statuses = primary.statuses.filter((s) => s !== victim);
      const messages: string[] = [];
      const requests: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        receptions.touch(1, {});
        source.tick(60_000);
        const before = client.http.stats.requests;
        const r = await context.syncAll('incremental');
        requests.push(client.http.stats.requests - before);
        assert.equal(r.outcome, 'ok', 'contacts keep syncing');
        messages.push(`${r.deals?.outcome}: ${r.deals?.error?.message}`);
      }
      console.log(JSON.stringify({ stageNames, victim: victim.name, messages, requests }, null, 1));
      for (const m of messages) assert.match(m, /fields --create --pipelines/, m);
    } finally {
      await context.close();
    }
  });
});
