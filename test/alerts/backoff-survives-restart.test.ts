import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { webhookChannel } from '../../src/alerts/webhook.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, startReceiver } from './helpers.ts';

/**
 * A relay that posts the alert to the chat and then answers 500 (a chat bridge whose own logging
 * fails; docs/alerts.md calls this "took it but did not answer"). In one process the retries back
 * off 1, 2, 4 … min. The wait is kept only in memory (monitor.ts `retry`), so each restart
 * (Docker restarting a daemon that is OOM-killed, a healthcheck restarter, a host rebooting in a
 * loop) sends again at once: one duplicate in the chat per restart, with no minute in between.
 */
it('restarts do not turn a failing channel into a message per restart', async () => {
  const receiver = await startReceiver(() => ({ status: 500 }));
  const stateDir = tempDir('attack-backoff-');
  const now = Date.now();
  const seed = new StateStore(stateDir);
  for (let i = 0; i < 3; i++) recordRun(seed, now - (10 - i) * 60_000, 'failed', 'other');
  seed.close();
  const config = {
    alerts: { rules: onlyRules({ failedRuns: 3 }) },
    stateDir,
    amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: 'x'.repeat(40) },
  } as never;
  const channel = webhookChannel({ url: `${receiver.url}/hook`, secretHeader: 'x-alert-secret' } as never);
  const clock = new VirtualClock(now);
  // Ten restarts within a few seconds of wall time (10 s apart on the monotonic clock).
  for (let restart = 0; restart < 10; restart++) {
    const store = new StateStore(stateDir);
    const monitor = new AlertMonitor({
      config,
      logger: silentLogger(),
      store,
      channels: [channel],
      clock,
      ownsStore: true,
      boot: 'b',
    });
    await monitor.evaluate();
    await monitor.evaluate();
    await monitor.stop();
    await clock.advance(10_000);
  }
  await receiver.close();
  console.log('deliveries of one incident in 100 s:', receiver.received.length);
  // The in-process policy allows one send, then nothing for a minute.
  assert.ok(receiver.received.length <= 2, `${receiver.received.length} sends of the same opening in 100 s`);
});
