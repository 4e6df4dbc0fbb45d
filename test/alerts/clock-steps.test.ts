import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import type { AlertRulesConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel } from './helpers.ts';

const MINUTE = 60_000;
function setup(rules: Partial<AlertRulesConfig>) {
  const stateDir = tempDir('alerts-clock-');
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const channel = new RecordingChannel();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules(rules), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    },
    logger: silentLogger(),
    store,
    channels: [channel],
    clock,
  });
  const events = () => channel.sent.map((m) => `${m.event} ${m.rule}`);
  return { store, clock, monitor, events };
}

describe('wall clock steps, more', () => {
  it('the wall clock jumping 12 h ahead while runs succeed is not "no successful sync"', async () => {
    const { store, clock, monitor, events } = setup({ noSuccessMinutes: 60 });
    recordRun(store, clock.now() - 3 * MINUTE, 'ok');
    await monitor.evaluate();
    clock.stepWall(12 * 60 * MINUTE); // a VM resumed, a bad RTC; the next run is 4 minutes away
    await monitor.evaluate();
    await monitor.stop();
    store.close();
    assert.deepEqual(events(), []);
  });

  it('IDENT down for 20 min, then NTP steps the clock back 12 h: the alert still comes within the threshold', async () => {
    const { store, clock, monitor, events } = setup({ unreachableMinutes: 15 });
    recordRun(store, clock.now() - 60 * MINUTE, 'ok');
    for (let m = 10; m >= 1; m--) recordRun(store, clock.now() - m * MINUTE, 'failed', 'ident-unreachable');
    await monitor.evaluate(); // 11 min down: not yet
    clock.stepWall(-12 * 60 * MINUTE);
    // IDENT stays down: a failed run every minute for 30 more minutes (time passes: both clocks move).
    for (let m = 0; m < 30; m++) {
      recordRun(store, clock.now() - MINUTE, 'failed', 'ident-unreachable');
      await clock.advance(MINUTE);
      await monitor.evaluate();
    }
    await monitor.stop();
    store.close();
    assert.deepEqual(events(), ['opened ident-unreachable'], 'IDENT down for 41 minutes');
  });
});
