import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, RecordingChannel } from './helpers.ts';

const HOUR = 3_600_000;

/**
 * A fresh install: the alerts' first look is before the first run, so the floor is 0 for ever
 * (facts.ts: the fewest ever seen). The clinic has 30 patients whose phones amoCRM will never take
 * (typos in IDENT nobody fixes): the first run opens refused-growing, and it can only clear back
 * at 0. Months later a field option is deleted in amoCRM and 3,000 values are refused: nobody hears.
 */
function setup() {
  const stateDir = tempDir('alerts-refused-');
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const channel = new RecordingChannel();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules({ refusedGrowth: 20 }), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    } as never,
    logger: silentLogger(),
    store,
    channels: [channel],
    clock,
    boot: 'b',
  });
  const db = new DatabaseSync(join(stateDir, 'state.sqlite'));
  const insert = db.prepare(
    'INSERT INTO field_refusals (patient_id, field_key, detail, hash, at, tried_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const setRefused = (n: number) => {
    db.exec('DELETE FROM field_refusals');
    const at = new Date().toISOString();
    for (let i = 0; i < n; i++) insert.run(String(1000 + i), 'phone', 'InvalidValue', 'h', at, at);
  };
  const finish = async () => {
    await monitor.stop();
    db.close();
    store.close();
    return channel.sent.map((m) => `${m.event} #${m.incident} ${m.rule}: ${m.reason.replace(/;.*/, '')}`);
  };
  return { monitor, clock, setRefused, finish };
}

it('refusals growing by the threshold again while the incident is open open a new incident with the new count', async () => {
  const { monitor, setRefused, finish } = setup();
  setRefused(0);
  await monitor.evaluate();
  setRefused(25);
  await monitor.evaluate();
  setRefused(40); // 15 more than announced: below the threshold, nothing new
  await monitor.evaluate();
  setRefused(50); // 25 more than announced
  await monitor.evaluate();
  await monitor.evaluate();
  assert.deepEqual(await finish(), [
    'opened #1 refused-growing: amoCRM refused 25 more values than the fewest of the last 24 hours (25 now stand unsent)',
    'opened #2 refused-growing: amoCRM refused 50 more values than the fewest of the last 24 hours (50 now stand unsent)',
  ]);
});

it('a level of refusals that stood for a day is the new baseline: the incident recovers, as the Prometheus rule does', async () => {
  const { monitor, clock, setRefused, finish } = setup();
  setRefused(0);
  await monitor.evaluate();
  setRefused(30);
  await monitor.evaluate();
  for (let hour = 0; hour < 26; hour++) {
    await clock.advance(HOUR);
    await monitor.evaluate();
  }
  assert.deepEqual(
    (await finish()).map((line) => line.replace(/:.*/, '')),
    ['opened #1 refused-growing', 'recovered #1 refused-growing'],
  );
});

it('a surge of refusals months after the first incident is announced', async () => {
  const stateDir = tempDir('attack-refused-');
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const channel = new RecordingChannel();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules({ refusedGrowth: 20 }), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    } as never,
    logger: silentLogger(),
    store,
    channels: [channel],
    clock,
    boot: 'b',
  });
  const db = new DatabaseSync(join(stateDir, 'state.sqlite'));
  const setRefused = (n: number) => {
    db.exec('DELETE FROM field_refusals');
    const insert = db.prepare(
      'INSERT INTO field_refusals (patient_id, field_key, detail, hash, at, tried_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (let i = 0; i < n; i++)
      insert.run(
        String(1000 + i),
        'phone',
        'InvalidValue',
        'h',
        new Date().toISOString(),
        new Date().toISOString(),
      );
  };
  setRefused(0);
  await monitor.evaluate(); // before the first run
  setRefused(30); // the first run: 30 typos
  await monitor.evaluate();
  for (let day = 0; day < 90; day++) {
    await clock.advance(24 * HOUR);
    await monitor.evaluate();
  }
  setRefused(3030); // a deleted field option: every patient's phone refused
  await monitor.evaluate();
  await clock.advance(HOUR);
  await monitor.evaluate();
  await monitor.stop();
  db.close();
  store.close();
  const events = channel.sent.map((m) => `${m.event} ${m.rule}: ${m.reason}`);
  console.log(events);
  assert.ok(events.length >= 2, 'the surge from 30 to 3030 refused values sent nothing');
});
