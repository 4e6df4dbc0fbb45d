import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { ActionableError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel, startReceiver } from './helpers.ts';
import { AlertMonitor } from '../../src/alerts/monitor.ts';

/**
 * A configuration error at start-up (a map file broken, a field missing in amoCRM: exit code 2)
 * makes the container restart forever. Each process records a failed start-up and weighs the
 * rules, then the CLI stops the daemon at once (src/cli/commands/daemon.ts: catch → daemon.stop()),
 * and stop() aborts the send it just started. The incident opens, but no channel is ever told.
 */
it('a daemon crash-looping on a configuration error (defaults: 3 failed runs, 60 min without success) alerts at least once', async () => {
  const receiver = await startReceiver();
  const stateDir = tempDir('attack-crashloop-');
  const config = loadConfig({
    AMOCRM_BASE_URL: 'https://clinic.amocrm.ru',
    AMOCRM_LONG_LIVED_TOKEN: 'x'.repeat(40),
    STATE_DIR: stateDir,
    HEALTH_PORT: '0',
    ALERT_WEBHOOK_URL: `${receiver.url}/hook`,
  });
  // The sync worked until three hours ago; then someone broke the map and restarted the container.
  {
    const seed = new StateStore(stateDir);
    recordRun(seed, Date.now() - 3 * 3_600_000, 'ok');
    seed.close();
  }
  for (let restart = 0; restart < 6; restart++) {
    const daemon = new Daemon({
      config,
      logger: silentLogger(),
      retryMs: [30, 30],
      openContext: async () => {
        throw new ActionableError('contacts.map line 3: unknown IDENT column', { exitCode: 2 });
      },
    });
    // Exactly what `ident-sync daemon` does with a start-up that throws.
    try {
      await daemon.start();
    } catch {
      await daemon.stop();
    }
    // Docker's restart delay (its first is 100 ms; the receiver has all the time it wants).
    await sleep(300);
  }
  const store = new StateStore(stateDir);
  const incidents = store.incidents.recent();
  console.log('runs:', JSON.stringify(store.lastRuns(10).map((r) => [r.id, r.kind, r.outcome, r.errorKind])));
  store.close();
  console.log('incidents:', JSON.stringify(incidents), 'received:', receiver.received.length);
  await receiver.close();
  assert.ok(
    incidents.some((incident) => incident.rule === 'no-success'),
    'the incident opened',
  );
  assert.ok(receiver.received.length >= 1, 'the no-success alert reached the webhook at least once');
});

it('identical failed start-ups fold into one row that counts each attempt: three open failed-runs', async () => {
  const stateDir = tempDir('alerts-attempts-');
  const store = new StateStore(stateDir);
  const channel = new RecordingChannel();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules({ failedRuns: 3 }) },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: 'x'.repeat(40) },
    } as never,
    logger: silentLogger(),
    store,
    channels: [channel],
    boot: 'b',
  });
  const broken = new ActionableError('contacts.map line 3: unknown IDENT column', { exitCode: 2 });
  for (let attempt = 0; attempt < 3; attempt++) await monitor.startupFailed(broken);
  const runs = store.lastRuns(10);
  await monitor.stop();
  store.close();
  assert.deepEqual(
    runs.map((run) => [run.kind, run.outcome, run.attempts]),
    [['startup', 'failed', 3]],
  );
  assert.deepEqual(
    channel.sent.map((m) => `${m.event} ${m.rule}: ${m.reason}`),
    [
      'opened failed-runs: the last 3 sync runs failed, the latest: contacts.map line 3: unknown IDENT column',
    ],
  );
});
