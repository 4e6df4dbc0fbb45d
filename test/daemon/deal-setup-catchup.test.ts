import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { Scheduler } from '../../src/daemon/schedule.ts';
import { streamDeepHistory, streamKinds } from '../../src/daemon/stream-history.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';

const moscow = (wall: string) => new Date(`${wall}+03:00`);

describe('deals never set up: the deep catch-up', () => {
  let emulator: AmoCrmEmulator;
  const token = 'a3-catchup-token-0123456789';
  before(async () => {
    emulator = await startEmulator();
    emulator.addLongLivedToken(token);
    await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
  });
  after(async () => {
    await emulator.stop();
  });

  it('a failing deal phase is retried as a deep run at most every half hour, not every tick', async () => {
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
    let now = moscow('2026-11-22T07:00:00').getTime();
    const clock = { now: () => now, monotonic: () => now, sleep: () => new Promise<void>(() => undefined) };
    const context = await openSyncContext(config, silentLogger(), {
      client,
      source,
      receptions,
      store,
      clock,
    });
    const started: string[] = [];
    const requests: number[] = [];
    const scheduler = new Scheduler(
      async (kind) => {
        const kinds = streamKinds(kind, store, { ...config.sync, receptions: true }, new Date(now));
        started.push(
          `${new Date(now).toISOString().slice(11, 16)} ${kind} c=${kinds.contacts} d=${kinds.deals}`,
        );
        const before = client.http.stats.requests;
        await context.syncAll(kinds);
        requests.push(client.http.stats.requests - before);
      },
      silentLogger(),
      () => ({ start() {}, destroy() {}, getNextRun: () => null }),
      { clock, history: streamDeepHistory(store, true) },
    );
    try {
      scheduler.start({ ...config.sync, receptions: true });
      await scheduler.tick('incremental'); // 07:00 the first run
      now = moscow('2026-11-22T08:00:05').getTime();
      await scheduler.tick('deep'); // the 08:00 slot
      for (const at of ['08:40', '08:45', '08:50', '08:55', '09:00']) {
        now = moscow(`2026-11-22T${at}:00`).getTime();
        await scheduler.tick('incremental');
      }
      console.log(JSON.stringify({ started, requests, deepAttempt: store.deals.deepAttemptAt() }, null, 1));
      const deepTicks = started.slice(2).filter((line) => / deep /.test(line));
      assert.ok(deepTicks.length <= 1, `deep catch-ups on consecutive ticks: ${deepTicks.join(' | ')}`);
    } finally {
      await scheduler.stop();
      await context.close();
    }
  });
});
