import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { amoConfig, longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { startReceiver, until } from './helpers.ts';

let emulator: AmoCrmEmulator;
before(async () => {
  emulator = await startEmulator();
  await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
});
after(async () => {
  await emulator.stop();
});

it('daemon, emulator answering 403, a long-lived token whose JWT exp is 9999999999999: the 403 alert still reaches the webhook', async () => {
  const receiver = await startReceiver();
  const stateDir = tempDir('alerts-jwt-e2e-');
  const token = `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(
    JSON.stringify({
      aud: 'x',
      jti: 'y',
      exp: Number(process.env.ALERTS_EXP ?? 9_999_999_999_999),
      sub: '1',
    }),
  ).toString('base64url')}.c2lnbmF0dXJl`;
  emulator.addLongLivedToken(token);
  const config = loadConfig({
    AMOCRM_BASE_URL: emulator.baseUrl,
    AMOCRM_LONG_LIVED_TOKEN: token,
    STATE_DIR: stateDir,
    HEALTH_PORT: '0',
    ALERT_WEBHOOK_URL: `${receiver.url}/hook`,
  });
  const store = new StateStore(stateDir);
  const client = createAmoClient(amoConfig(emulator, { longLivedToken: token }), stateDir, silentLogger(), {
    retryBaseMs: 20,
    rateLimitBaseMs: 50,
    limiter: new RateLimiter(6),
  });
  const daemon = new Daemon({
    config,
    anyHealthPort: true,
    logger: silentLogger(),
    openContext: () =>
      openSyncContext(config, silentLogger(), {
        client,
        source: new MemorySource(syntheticPatients(5, 80_000)),
        store,
      }),
  });
  emulator.blocked = true;
  try {
    await daemon.start();
    await until(() => (daemon.alerts?.evaluations ?? 0) >= 1, 'an evaluation', 200);
    await until(() => receiver.received.length >= 1, 'the 403 alert', 100).catch(() => undefined);
    assert.equal(receiver.received.length, 1, 'no alert reached the webhook');
  } finally {
    emulator.unblock();
    await daemon.stop();
    await receiver.close();
  }
});
