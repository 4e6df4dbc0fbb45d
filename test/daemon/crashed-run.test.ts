/**
 * A sync run that throws (SQLite "database or disk is full" when the state volume or the
 * container's 16 MB /tmp fills up) is only logged by the scheduler ("sync run crashed"); the daemon's
 * health stays "running"/"last … sync ok", so /healthz answers 200 and the image's HEALTHCHECK says
 * "healthy: running" while every run fails.
 */
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
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';

describe('a sync run that throws', () => {
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

  it('turns /healthz unhealthy with the reason (it stayed 200 "running")', async () => {
    const stateDir = tempDir();
    const config = loadConfig({
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_LONG_LIVED_TOKEN: token,
      STATE_DIR: stateDir,
      HEALTH_PORT: '0',
    });
    const client = longLivedClient(emulator);
    const source = new MemorySource(syntheticPatients(20, 50_000));
    const store = new StateStore(stateDir);
    let calls = 0;
    const openContext = async () => {
      const context = await openSyncContext(config, silentLogger(), { client, source, store });
      context.syncAll = (async () => {
        calls++;
        throw Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR' });
      }) as typeof context.syncAll;
      return context;
    };
    const daemon = new Daemon({ config, logger: silentLogger(), openContext, anyHealthPort: true });
    try {
      await daemon.start();
      // Polled, not timed: the health turns once the crashed run has been handled.
      let response = await fetch(`http://127.0.0.1:${daemon.healthPort}/healthz`);
      for (let attempt = 0; attempt < 400 && (calls === 0 || response.status === 200); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        response = await fetch(`http://127.0.0.1:${daemon.healthPort}/healthz`);
      }
      assert.ok(calls > 0, 'the run was attempted');
      const body = (await response.json()) as { reason: string };
      assert.equal(
        response.status,
        503,
        `/healthz says ${response.status} ${JSON.stringify(body)} after a crashed run`,
      );
      assert.match(body.reason, /^last (initial|incremental) sync crashed: database or disk is full$/);
    } finally {
      await daemon.stop();
    }
  });
});
