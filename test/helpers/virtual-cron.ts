import cron from 'node-cron';
import type { CronTask, CreateTask } from '../../src/daemon/schedule.ts';
import type { Clock } from '../../src/support/clock.ts';

/** The first minute after `afterMs` (wall ms) the expression matches on the clinic's clock. */
function nextMatch(matcher: { match(date: Date): boolean }, afterMs: number): number {
  let at = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  while (!matcher.match(new Date(at))) at += 60_000;
  return at;
}

/**
 * node-cron 4.6's timing on an injected clock (its Runner and planBeat): a timer armed for the
 * wall-clock distance to the next slot (at most a day); on waking, a wall clock still before the
 * slot means sleeping again, a slot more than a second late is dropped (onMissed) and the next one
 * after it planned. So a wall clock stepped back stalls it for the step; one stepped forward drops
 * every slot in between.
 */
export const virtualCron =
  (clock: Clock): CreateTask =>
  (expression, run, options) => {
    const matcher = cron.createTask(expression, () => undefined, { timezone: options.timezone });
    let destroyed = false;
    let nextRun: number | undefined;
    const loop = async () => {
      let expected = nextMatch(matcher, clock.now());
      nextRun = expected;
      while (!destroyed) {
        await clock.sleep(Math.min(86_400_000, Math.max(0, expected - clock.now())));
        if (destroyed) return;
        const now = clock.now();
        for (;;) {
          if (now < expected) break;
          const next = nextMatch(matcher, expected);
          const lateBy = now - expected;
          if (lateBy <= 1000 && lateBy < next - expected) {
            run();
            expected = next;
            break;
          }
          options.onMissed(new Date(expected));
          expected = next;
        }
        nextRun = expected;
      }
    };
    const task: CronTask = {
      start: () => void loop(),
      destroy: () => {
        destroyed = true;
        void matcher.destroy();
      },
      getNextRun: () => (nextRun === undefined ? null : new Date(nextRun)),
    };
    return task;
  };
