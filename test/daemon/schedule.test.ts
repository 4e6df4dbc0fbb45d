import { syncConfig } from '../helpers/sync-config.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import cron from 'node-cron';
import { createLogger, silentLogger } from '../../src/logging/logger.ts';
import type { Clock } from '../../src/support/clock.ts';
import {
  type CreateTask,
  cronExpressions,
  lastDeepSlot,
  nodeCronTask,
  Scheduler,
} from '../../src/daemon/schedule.ts';

const sync = syncConfig;

describe('schedule', () => {
  it('builds the cron expressions from the settings', () => {
    assert.deepEqual(cronExpressions(sync()), { incremental: '*/2 * * * *', deep: '0 8,20 * * *' });
    assert.equal(cronExpressions(sync({ intervalMinutes: 120 })).incremental, '0 */2 * * *');
    assert.equal(cronExpressions(sync({ deepSyncHours: [21, 21] })).deep, '0 21 * * *');
  });

  it('fires deep syncs at 08:00 and 20:00 on the clinic clock, not the container clock', () => {
    const task = cron.createTask(cronExpressions(sync()).deep, () => undefined, {
      timezone: 'Europe/Moscow',
    });
    assert.equal(task.match(new Date('2026-11-22T05:00:00Z')), true, '05:00 UTC is 08:00 in Moscow');
    assert.equal(task.match(new Date('2026-11-22T17:00:00Z')), true, '17:00 UTC is 20:00 in Moscow');
    assert.equal(task.match(new Date('2026-11-22T08:00:00Z')), false);
    const vladivostok = cron.createTask(cronExpressions(sync()).deep, () => undefined, {
      timezone: 'Asia/Vladivostok',
    });
    assert.equal(
      vladivostok.match(new Date('2026-11-21T22:00:00Z')),
      true,
      '22:00 UTC is 08:00 in Vladivostok',
    );
    void task.destroy();
    void vladivostok.destroy();
  });

  it('fires incremental syncs every interval', () => {
    const task = cron.createTask(cronExpressions(sync({ intervalMinutes: 5 })).incremental, () => undefined, {
      timezone: 'Europe/Moscow',
    });
    const minutes = Array.from({ length: 30 }, (_, m) => new Date(Date.UTC(2026, 10, 22, 9, m)));
    assert.deepEqual(
      minutes.filter((date) => task.match(date)).map((date) => date.getUTCMinutes()),
      [0, 5, 10, 15, 20, 25],
    );
    void task.destroy();
  });

  it('never runs two syncs at once: an incremental tick is skipped, a deep tick waits for the run to end', async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const ticks = new Map<string, () => void>();
    const createTask: CreateTask = (_expression, run, options) => {
      ticks.set(options.name, run);
      return { start() {}, destroy() {}, getNextRun: () => null };
    };
    const scheduler = new Scheduler(
      (kind) => {
        started.push(kind);
        return new Promise<void>((resolve) => release.push(resolve));
      },
      silentLogger(),
      createTask,
    );
    scheduler.start(sync());
    ticks.get('incremental')!();
    ticks.get('incremental')!();
    ticks.get('deep')!();
    assert.deepEqual(started, ['incremental']);
    release.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['incremental', 'deep'], 'the deferred deep sync runs right after');
    assert.equal(scheduler.busy, true);
    release.shift()!();
    await scheduler.stop();
    ticks.get('incremental')!();
    assert.deepEqual(started, ['incremental', 'deep'], 'nothing starts after stop');
  });
});

describe('deep syncs that were missed', () => {
  const moscow = (iso: string) => new Date(`${iso}+03:00`);
  /** Time standing still at `at`: the watchdog never wakes. */
  const stoppedClock = (at: Date): Clock => ({
    now: () => at.getTime(),
    monotonic: () => 0,
    sleep: () => new Promise<void>(() => undefined),
  });

  it('finds the latest 08:00 / 20:00 slot on the clinic clock', () => {
    assert.deepEqual(
      lastDeepSlot(moscow('2026-11-22T09:30:00'), [8, 20], 'Europe/Moscow'),
      moscow('2026-11-22T08:00:00'),
    );
    assert.deepEqual(
      lastDeepSlot(moscow('2026-11-22T07:59:00'), [8, 20], 'Europe/Moscow'),
      moscow('2026-11-21T20:00:00'),
    );
    assert.deepEqual(
      lastDeepSlot(moscow('2026-11-22T20:00:00'), [8, 20], 'Europe/Moscow'),
      moscow('2026-11-22T20:00:00'),
    );
  });

  it('an incremental tick runs the deep sync instead when the last one is older than the latest slot', async () => {
    const cases: { success?: string; attempt?: string; expected: string }[] = [
      { success: '2026-11-22T08:00:05', attempt: '2026-11-22T08:00:05', expected: 'incremental' },
      { success: '2026-11-21T20:00:05', attempt: '2026-11-21T20:00:05', expected: 'deep' },
      { expected: 'deep' },
      // A deep sync that keeps failing is tried again every half hour, not on every tick.
      { success: '2026-11-21T20:00:05', attempt: '2026-11-22T09:20:00', expected: 'incremental' },
      { success: '2026-11-21T20:00:05', attempt: '2026-11-22T08:50:00', expected: 'deep' },
    ];
    for (const { success, attempt, expected } of cases) {
      const started: string[] = [];
      const scheduler = new Scheduler(
        async (kind) => {
          started.push(kind);
        },
        silentLogger(),
        () => ({ start() {}, destroy() {}, getNextRun: () => null }),
        {
          clock: stoppedClock(moscow('2026-11-22T09:30:00')),
          history: {
            lastSuccess: () => (success ? moscow(success) : undefined),
            lastAttempt: () => (attempt ? moscow(attempt) : undefined),
            fresh: () => false,
          },
        },
      );
      scheduler.start(sync());
      await scheduler.tick('incremental');
      await scheduler.stop();
      assert.deepEqual(started, [expected], JSON.stringify({ success, attempt }));
    }
  });

  it("a new state's first tick is the initial sync, which reads every patient: no deep sync is owed yet", async () => {
    const started: string[] = [];
    const scheduler = new Scheduler(
      async (kind) => void started.push(kind),
      silentLogger(),
      () => ({ start() {}, destroy() {}, getNextRun: () => null }),
      {
        clock: stoppedClock(moscow('2026-11-22T09:30:00')),
        history: { lastSuccess: () => undefined, lastAttempt: () => undefined, fresh: () => true },
      },
    );
    scheduler.start(sync());
    await scheduler.tick('incremental');
    await scheduler.stop();
    assert.deepEqual(started, ['incremental']);
  });

  it("a slot node-cron drops is logged in the daemon's own log, not on the console", async () => {
    const logged: string[] = [];
    const logger = createLogger({
      level: 'debug',
      format: 'json',
      destination: { write: (line: string) => logged.push(line) },
    });
    const printed: unknown[] = [];
    const original = { warn: console.warn, error: console.error, info: console.info };
    console.warn = console.error = console.info = (...args: unknown[]) => void printed.push(args);
    try {
      const task = nodeCronTask('* * * * * *', () => undefined, {
        timezone: 'Europe/Moscow',
        name: 'deep',
        logger,
        onMissed: (slot) => logger.warn({ slot: slot.toISOString() }, 'slot missed'),
      });
      await task.start();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      // A paused machine: the event loop is held past several slots.
      const until = Date.now() + 2600;
      while (Date.now() < until);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await task.destroy();
    } finally {
      Object.assign(console, original);
    }
    assert.ok(
      logged.some((line) => /slot missed/.test(line)),
      logged.join(''),
    );
    assert.deepEqual(printed, []);
  });
});
