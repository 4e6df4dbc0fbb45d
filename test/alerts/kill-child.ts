// A process that weighs the alerts once over STATE and sends to the webhook on 127.0.0.1:45510.
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { webhookChannel } from '../../src/alerts/webhook.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { onlyRules, recordRun } from './helpers.ts';

const stateDir = process.argv[2]!;
const store = new StateStore(stateDir);
if (store.lastRuns(1).length === 0) recordRun(store, Date.now() - 120_000, 'failed', 'other');
const monitor = new AlertMonitor({
  config: {
    alerts: { rules: onlyRules({ failedRuns: 1 }), channels: {} },
    stateDir,
    amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
  },
  logger: silentLogger(),
  store,
  channels: [
    webhookChannel({ url: 'http://127.0.0.1:45510/hook', secret: undefined, secretHeader: 'x' } as never),
  ],
});
await monitor.evaluate();
await monitor.stop();
store.close();
