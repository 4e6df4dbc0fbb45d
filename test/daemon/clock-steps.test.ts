import { syncConfig } from '../helpers/sync-config.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { SharedPace } from '../../src/amocrm/shared-pace.ts';
import { type CreateTask, type ScheduledKind, Scheduler, WATCHDOG_MS } from '../../src/daemon/schedule.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { virtualCron } from '../helpers/virtual-cron.ts';

const sync = syncConfig();
const moscow = (iso: string) => new Date(`${iso}+03:00`).getTime();

/**
 * A daemon's schedule in virtual time: each run takes a few requests through a shared pace and
 * records when it started (wall and monotonic); a deep run that ends is the last successful one.
 */
function daemonAt(wallStart: number, lastDeep: number, createTask?: (clock: VirtualClock) => CreateTask) {
  const clock = new VirtualClock(wallStart);
  const limiter = new RateLimiter(7, clock, new SharedPace(tempDir()));
  const runs: { kind: ScheduledKind; wall: number; mono: number; requests: number }[] = [];
  const warnings: string[] = [];
  const logger = createLogger({
    level: 'warn',
    format: 'json',
    destination: { write: (line: string) => void warnings.push(JSON.parse(line).msg as string) },
  });
  let lastSuccess = lastDeep;
  const scheduler = new Scheduler(
    async (kind) => {
      const run = { kind, wall: clock.now(), mono: clock.monotonic(), requests: 0 };
      runs.push(run);
      for (let index = 0; index < 10; index++) {
        await limiter.acquire();
        run.requests += 1;
      }
      if (kind === 'deep') lastSuccess = clock.now();
    },
    logger,
    (createTask ?? virtualCron)(clock),
    {
      clock,
      history: {
        lastSuccess: () => new Date(lastSuccess),
        lastAttempt: () => new Date(lastSuccess),
        fresh: () => false,
      },
    },
  );
  scheduler.start(sync);
  return { clock, scheduler, runs, warnings };
}

describe('the schedule survives wall-clock steps (hole 3)', () => {
  it('hole 3: the wall clock stepped forward across the 08:00 slot: the deep sync runs once, at once', async () => {
    const { clock, scheduler, runs, warnings } = daemonAt(
      moscow('2026-11-22T07:50:30'),
      moscow('2026-11-21T20:00:05'),
    );
    await clock.advance(5 * 60_000);
    assert.deepEqual(
      runs.map((run) => run.kind),
      ['incremental', 'incremental'],
    );
    clock.stepWall(40 * 60_000);
    const stepped = clock.monotonic();
    await clock.advance(10 * 60_000);
    await clock.run(scheduler.stop());
    const deep = runs.filter((run) => run.kind === 'deep');
    assert.equal(deep.length, 1, JSON.stringify(runs));
    assert.ok(
      deep[0]!.mono - stepped <= WATCHDOG_MS,
      `the deep sync began ${deep[0]!.mono - stepped} ms after the step`,
    );
    assert.ok(runs.filter((run) => run.mono > deep[0]!.mono).length >= 4, 'incremental ticks go on');
    assert.ok(
      runs.every((run) => run.requests === 10),
      'every run got its requests through',
    );
    assert.equal(
      warnings.filter((line) => /wall clock stepped 2400 s forward/.test(line)).length,
      1,
      warnings.join('\n'),
    );
  });

  it('hole 3: the wall clock stepped back an hour: incremental ticks go on and requests are not held', async () => {
    const { clock, scheduler, runs, warnings } = daemonAt(
      moscow('2026-11-22T09:10:30'),
      moscow('2026-11-22T08:00:05'),
    );
    await clock.advance(5 * 60_000);
    clock.stepWall(-3_600_000);
    const stepped = clock.monotonic();
    await clock.advance(10 * 60_000);
    await clock.run(scheduler.stop());
    const after = runs.filter((run) => run.mono > stepped);
    assert.ok(after.length >= 4, `${after.length} runs in the 10 minutes after the step`);
    assert.ok(
      after.every((run) => run.kind === 'incremental'),
      JSON.stringify(after),
    );
    assert.ok(
      runs.every((run) => run.requests === 10),
      'every run got its requests through',
    );
    assert.equal(
      warnings.filter((line) => /wall clock stepped 3600 s back/.test(line)).length,
      1,
      warnings.join('\n'),
    );
  });

  it('a schedule that stops ticking without a clock step is caught up by the watchdog, said once', async () => {
    let created = 0;
    const silent: CreateTask = () => {
      created += 1;
      return { start() {}, destroy() {}, getNextRun: () => null };
    };
    const { clock, scheduler, runs, warnings } = daemonAt(
      moscow('2026-11-22T09:10:30'),
      moscow('2026-11-22T08:00:05'),
      () => silent,
    );
    await clock.advance(2 * 60_000 + 30_000 + WATCHDOG_MS);
    await clock.run(scheduler.stop());
    assert.deepEqual(
      runs.map((run) => run.kind),
      ['incremental'],
    );
    assert.equal(created, 4, 'node-cron re-armed');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /no incremental sync tick came for \d+ s/);
  });
});
