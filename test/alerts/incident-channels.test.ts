import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import type { AlertChannel } from '../../src/alerts/channel.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel } from './helpers.ts';

const MINUTE = 60_000;
const monitorOn = (stateDir: string, store: StateStore, channels: AlertChannel[], clock: VirtualClock) =>
  new AlertMonitor({
    config: {
      alerts: { rules: onlyRules({ failedRuns: 1 }), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    },
    logger: silentLogger(),
    store,
    channels,
    clock,
  });

describe('state and channel changes', () => {
  it('a channel set while an incident is open does not get a recovery for an alert it never saw', async () => {
    const stateDir = tempDir('alerts-add-');
    const store = new StateStore(stateDir);
    const clock = new VirtualClock();
    const webhook = new RecordingChannel('webhook');
    const telegram = new RecordingChannel('telegram');
    recordRun(store, clock.now() - 5 * MINUTE, 'failed', 'other');
    let monitor = monitorOn(stateDir, store, [webhook], clock);
    await monitor.evaluate();
    await monitor.stop();
    // The operator adds Telegram and restarts.
    monitor = monitorOn(stateDir, store, [telegram, webhook], clock);
    recordRun(store, clock.now() - MINUTE, 'ok');
    await monitor.evaluate();
    await monitor.stop();
    store.close();
    assert.deepEqual(
      telegram.sent.map((m) => `${m.event} ${m.rule}`),
      [],
    );
  });

  it('a state folder restored from the copy taken while the incident was open announces its recovery again, under the same incident id', async () => {
    const stateDir = tempDir('alerts-restore-');
    const backup = tempDir('alerts-backup-');
    let store = new StateStore(stateDir);
    const clock = new VirtualClock();
    const webhook = new RecordingChannel('webhook');
    recordRun(store, clock.now() - 5 * MINUTE, 'failed', 'other');
    let monitor = monitorOn(stateDir, store, [webhook], clock);
    await monitor.evaluate();
    await monitor.stop();
    store.close();
    cpSync(stateDir, backup, { recursive: true });
    store = new StateStore(stateDir);
    recordRun(store, clock.now() - MINUTE, 'ok');
    monitor = monitorOn(stateDir, store, [webhook], clock);
    await monitor.evaluate();
    await monitor.stop();
    store.close();
    // The disk is replaced; last night's copy comes back; the next run succeeds.
    store = new StateStore(backup);
    recordRun(store, clock.now(), 'ok');
    monitor = monitorOn(backup, store, [webhook], clock);
    await monitor.evaluate();
    await monitor.stop();
    store.close();
    // The copy cannot know what was sent after it was taken: the recovery goes again (at least
    // once), and the receiver sees it is the same incident's (docs/alerts.md).
    assert.deepEqual(
      webhook.sent.map((m) => `${m.event} ${m.rule} #${String(m.incident)}`),
      ['opened failed-runs #1', 'recovered failed-runs #1', 'recovered failed-runs #1'],
    );
  });
});
