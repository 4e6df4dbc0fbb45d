import assert from 'node:assert/strict';
import { it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel } from './helpers.ts';
import { startFakeSmtp } from './smtp-fake.ts';

it('a tarpitting mail server does not silence the webhook and every later evaluation', async () => {
  const smtp = await startFakeSmtp({ trickle: true });
  const mail = emailChannel({
    host: '127.0.0.1',
    port: smtp.port,
    tls: 'none',
    from: 'a@clinic.test',
    to: 'b@clinic.test',
  } as never);
  const webhook = new RecordingChannel('webhook');
  const stateDir = tempDir('alerts-tarpit-');
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules({ failedRuns: 1 }), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    },
    logger: silentLogger(),
    store,
    // buildChannels' order: telegram, email, webhook
    channels: [mail, webhook],
    clock,
  });
  recordRun(store, clock.now() - 60_000, 'failed', 'other');
  void monitor.evaluate();
  // Three more "minutes" of timer ticks, each given 15 s of real time (the send timeout).
  for (let i = 0; i < 3; i++) {
    void monitor.evaluate();
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
  const seen = { webhook: webhook.sent.length, evaluations: monitor.evaluations };
  await smtp.close();
  await monitor.stop();
  store.close();
  assert.deepEqual(seen, { webhook: 1, evaluations: 4 }, 'after 45 s');
});
