import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import cron from 'node-cron';
import type { SyncConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { type CreateTask, cronExpressions, Scheduler } from '../../src/daemon/schedule.ts';

const sync = (overrides: Partial<SyncConfig> = {}): SyncConfig => ({
  intervalMinutes: 2,
  deepSyncHours: [8, 20],
  timeZone: 'Europe/Moscow',
  overlapSeconds: 300,
  matchByPhone: true,
  ...overrides,
});

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
