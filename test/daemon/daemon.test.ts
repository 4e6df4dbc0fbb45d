import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { freePort, runCli, spawnCli, unreachableDbEnv } from '../helpers/cli.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';

describe('ident-sync daemon', () => {
  let emulator: AmoCrmEmulator;
  const token = 'daemon-token-0123456789';
  before(async () => {
    emulator = await startEmulator();
    emulator.addLongLivedToken(token);
    await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
  });
  after(async () => {
    await emulator.stop();
  });

  it('with an unreachable database serves 503 with the reason and /metrics, and exits 0 soon after SIGTERM', async () => {
    const daemon = spawnCli(
      ['daemon'],
      unreachableDbEnv({
        AMOCRM_BASE_URL: emulator.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: token,
        HEALTH_PORT: String(await freePort()),
      }),
    );
    const port = Number((await daemon.waitFor(/"port":(\d+),"msg":"health endpoint listening/))[1]);
    let health: { status: string; reason: string } | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(response.status, 503);
      health = (await response.json()) as typeof health;
      if (health!.reason.includes('SQL Server')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(
      health!.reason,
      /start-up failed, retrying in \d+ s: cannot connect to SQL Server at 127\.0\.0\.1:1/,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^ident_sync_healthy 0$/m);
    assert.match(metrics, /# TYPE ident_sync_amocrm_429_total gauge/);
    const { code, ms } = await daemon.terminate();
    assert.equal(code, 0);
    assert.ok(ms < 15_000);
    assert.doesNotMatch(daemon.output(), /secret-password/);
  });

  it('SIGTERM while a start-up check still waits on an unreachable amoCRM ends the daemon at once, with code 0', async () => {
    const daemon = spawnCli(
      ['daemon'],
      unreachableDbEnv({
        AMOCRM_BASE_URL: `http://127.0.0.1:${await freePort()}`,
        AMOCRM_LONG_LIVED_TOKEN: token,
        HEALTH_PORT: '0',
      }),
    );
    // amoCRM's client retries a refused connection for about a minute before the check fails.
    await daemon.waitFor(/amoCRM did not answer; retrying/);
    assert.match(daemon.output(), /"errno":"ECONNREFUSED"/);
    const { code, ms } = await daemon.terminate();
    assert.equal(code, 0);
    assert.ok(ms < 5_000, `stopped after ${ms} ms`);
    assert.match(daemon.output(), /"msg":"stopped"/);
  });

  it('exits with code 2 naming a bad variable', async () => {
    const run = await runCli(['daemon'], { SYNC_INTERVAL_MINUTES: 'abc' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^config error: SYNC_INTERVAL_MINUTES="abc": expected a whole number/m);
  });

  it('runs the initial sync at start, reports healthy, and stops after the batches in flight', async () => {
    const stateDir = tempDir();
    const config = loadConfig({
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_LONG_LIVED_TOKEN: token,
      STATE_DIR: stateDir,
      HEALTH_PORT: '0',
    });
    const client = longLivedClient(emulator);
    const source = new MemorySource(syntheticPatients(120, 50_000));
    const store = new StateStore(stateDir);
    const openContext = () => openSyncContext(config, silentLogger(), { client, source, store });
    const daemon = new Daemon({ config, logger: silentLogger(), openContext, anyHealthPort: true });
    try {
      await daemon.start();
      for (let attempt = 0; attempt < 200 && !/last initial sync ok/.test(daemon.status.reason); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const response = await fetch(`http://127.0.0.1:${daemon.healthPort}/healthz`);
      assert.equal(response.status, 200);
      // A new state: the first run reads every patient (the initial sync), so no deep sync is owed.
      assert.equal(((await response.json()) as { reason: string }).reason, 'last initial sync ok');
      const metrics = await (await fetch(`http://127.0.0.1:${daemon.healthPort}/metrics`)).text();
      assert.match(metrics, /ident_sync_runs_total\{kind="initial",outcome="ok"\} 1/);
      assert.match(metrics, /ident_sync_contacts_total\{action="created"\} 120/);
      assert.match(metrics, /ident_sync_amocrm_requests_total \d+/);
    } finally {
      await daemon.stop();
    }
  });
});
