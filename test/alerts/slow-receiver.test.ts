import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { webhookChannel } from '../../src/alerts/webhook.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun } from './helpers.ts';

it('a webhook that takes the alert and answers after 16 s does not get it again at every evaluation', async () => {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      bodies.push(body); // processed (e.g. forwarded to the on-call chat), the answer is slow
      setTimeout(() => res.writeHead(200).end('{}'), 16_000).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(45511, '127.0.0.1', resolve));
  const stateDir = tempDir('alerts-slow-');
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
    channels: [
      webhookChannel({ url: 'http://127.0.0.1:45511/hook', secret: undefined, secretHeader: 'x' } as never),
    ],
    clock,
  });
  recordRun(store, clock.now() - 60_000, 'failed', 'other');
  await monitor.evaluate(); // the timer's next ticks
  await monitor.evaluate();
  await monitor.evaluate();
  await monitor.stop();
  store.close();
  server.closeAllConnections();
  server.close();
  assert.equal(bodies.length, 1, `the receiver got the same alert ${bodies.length} times`);
});
