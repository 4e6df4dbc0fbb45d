import cron from 'node-cron';
import type { SyncConfig } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';
import { clinicToday, wallClockToUnix } from '../mapping/transforms/dates.ts';
import { type Clock, systemClock } from '../support/clock.ts';

export type ScheduledKind = 'incremental' | 'deep';

/** Cron expressions of the two schedules (minutes and hours on the clinic's clock). */
export function cronExpressions(sync: SyncConfig): Record<ScheduledKind, string> {
  const minutes = sync.intervalMinutes;
  const incremental =
    minutes < 60 ? `*/${minutes} * * * *` : minutes >= 1440 ? '0 0 * * *' : `0 */${minutes / 60} * * *`;
  const hours = [...new Set(sync.deepSyncHours)].sort((a, b) => a - b).join(',');
  return { incremental, deep: `0 ${hours} * * *` };
}

/** The latest deep-sync slot (HH:00 on the clinic's clock) at or before `now`. */
export function lastDeepSlot(now: Date, hours: readonly number[], timeZone: string): Date {
  const today = clinicToday(now, timeZone);
  let latest = 0;
  for (const dayOffset of [0, -1]) {
    const day = new Date(Date.UTC(today.year, today.month - 1, today.day + dayOffset));
    for (const hour of hours) {
      const at =
        wallClockToUnix(
          {
            year: day.getUTCFullYear(),
            month: day.getUTCMonth() + 1,
            day: day.getUTCDate(),
            hour,
            minute: 0,
            second: 0,
          },
          timeZone,
        ) * 1000;
      if (at <= now.getTime()) latest = Math.max(latest, at);
    }
  }
  return new Date(latest);
}

export interface CronTask {
  /** What runs when, where it is not the cron expression the task was given (the demo's timers). */
  readonly runs?: string;
  start(): void | Promise<void>;
  destroy(): void | Promise<void>;
  getNextRun(): Date | null;
}
export type CreateTask = (
  expression: string,
  run: () => void,
  options: { timezone: string; name: string; logger: Logger; onMissed: (slot: Date) => void },
) => CronTask;

/** node-cron writes its warnings to the console; here they go to the daemon's JSON log. */
export const nodeCronTask: CreateTask = (expression, run, options) => {
  const task = cron.createTask(expression, () => run(), {
    timezone: options.timezone,
    name: options.name,
    noOverlap: false,
    logger: {
      info: (message) => options.logger.debug({ task: options.name }, `node-cron: ${message}`),
      warn: (message) => options.logger.debug({ task: options.name }, `node-cron: ${message}`),
      error: (message, err) =>
        options.logger.error({ task: options.name, err }, `node-cron: ${String(message)}`),
      debug: (message) => options.logger.debug({ task: options.name }, `node-cron: ${String(message)}`),
    },
  });
  task.on('execution:missed', (context) => options.onMissed(context.date));
  return task;
};

/** When every patient was last read (a deep sync, or a state's first run), and when a deep sync was last tried. */
export interface DeepHistory {
  lastSuccess(): Date | undefined;
  lastAttempt(): Date | undefined;
  /** No run has completed with this state: its first run reads every patient anyway. */
  fresh(): boolean;
}

/** A deep sync that keeps failing is tried again at most this often, not on every tick. */
const DEEP_RETRY_MS = 30 * 60_000;

/** How often the schedule's watchdog looks, on monotonic time. */
export const WATCHDOG_MS = 15_000;
/** An incremental tick this long past its interval is overdue: node-cron dropped it. */
export const OVERDUE_GRACE_MS = 30_000;
/**
 * The wall clock moving this much more or less than monotonic time between two looks is a step
 * (NTP, a VM restored or resumed). node-cron arms its timer for the wall-clock distance to the
 * next slot: after a step back it waits out the step, after one forward it drops every slot in
 * between. NTP's own corrections are far smaller (it slews below 128 ms).
 */
export const CLOCK_STEP_MS = 10_000;

/** The system clock, whose sleeps do not keep the process alive: the watchdog must not delay an exit. */
const backgroundClock: Clock = {
  ...systemClock,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref()),
};

const seconds = (ms: number) => Math.round(Math.abs(ms) / 1000);

/**
 * Runs syncs on the schedule, one at a time: an incremental tick that finds a run in progress is
 * skipped (the next tick picks the changes up); a deep tick waits and runs right after it. node-cron
 * drops a slot that fires more than a second late (a clock step, a resumed VM, a busy process), so
 * every tick also checks the deep sync itself: when the last successful one is older than the
 * latest 08:00/20:00 slot, the tick runs a deep sync instead. A watchdog on monotonic time notices
 * when no incremental tick came for longer than the interval, or the wall clock stepped: it re-arms
 * node-cron on the new time and runs the due tick itself.
 */
export class Scheduler {
  private readonly run: (kind: ScheduledKind) => Promise<unknown>;
  private readonly logger: Logger;
  private readonly createTask: CreateTask;
  private readonly history: DeepHistory | undefined;
  private readonly clock: Clock;
  private sync: SyncConfig | undefined;
  private tasks: CronTask[] = [];
  private current: Promise<unknown> | undefined;
  private currentKind: ScheduledKind | undefined;
  private deepWaiting = false;
  private stopped = false;
  private readonly stopSignal: Promise<void>;
  private wakeWatchdog: () => void = () => undefined;
  /** Monotonic time of the last incremental tick (run or skipped), or of the start. */
  private lastIncrementalTick = 0;

  constructor(
    run: (kind: ScheduledKind) => Promise<unknown>,
    logger: Logger,
    createTask: CreateTask = nodeCronTask,
    options: { history?: DeepHistory; clock?: Clock } = {},
  ) {
    this.run = run;
    this.logger = logger;
    this.createTask = createTask;
    this.history = options.history;
    this.clock = options.clock ?? backgroundClock;
    this.stopSignal = new Promise((resolve) => {
      this.wakeWatchdog = resolve;
    });
  }

  start(sync: SyncConfig): void {
    this.sync = sync;
    void this.arm();
    this.lastIncrementalTick = this.clock.monotonic();
    // The first arm() creates its tasks before its first await: the log says what really runs.
    const expressions = cronExpressions(sync);
    const runs = (kind: ScheduledKind, index: number) => this.tasks[index]?.runs ?? expressions[kind];
    this.logger.info(
      { incremental: runs('incremental', 0), deep: runs('deep', 1), timeZone: sync.timeZone },
      'schedule started',
    );
    void this.watch();
  }

  /** (Re)creates the node-cron tasks: each computes its next slot from the wall clock as it is now. */
  private async arm(): Promise<void> {
    const sync = this.sync!;
    const old = this.tasks;
    this.tasks = [];
    for (const task of old) await task.destroy();
    if (this.stopped) return;
    const expressions = cronExpressions(sync);
    for (const kind of ['incremental', 'deep'] as const) {
      const task = this.createTask(expressions[kind], () => this.tick(kind), {
        timezone: sync.timeZone,
        name: kind,
        logger: this.logger,
        // The watchdog says it once when the schedule stalls; a slot at a time would be hundreds of lines.
        onMissed: (slot) =>
          this.logger.debug({ kind, slot: slot.toISOString() }, 'node-cron dropped a late slot'),
      });
      void task.start();
      this.tasks.push(task);
    }
  }

  /** Every WATCHDOG_MS of monotonic time: a stalled schedule or a stepped wall clock is caught up at once. */
  private async watch(): Promise<void> {
    let lastMono = this.clock.monotonic();
    let lastWall = this.clock.now();
    const intervalMs = this.sync!.intervalMinutes * 60_000;
    while (!this.stopped) {
      await Promise.race([this.clock.sleep(WATCHDOG_MS), this.stopSignal]);
      if (this.stopped) return;
      const mono = this.clock.monotonic();
      const wall = this.clock.now();
      const step = wall - lastWall - (mono - lastMono);
      lastMono = mono;
      lastWall = wall;
      const silent = mono - this.lastIncrementalTick;
      if (Math.abs(step) >= CLOCK_STEP_MS) {
        this.logger.warn(
          { stepSeconds: Math.round(step / 1000), now: new Date(wall).toISOString() },
          `the wall clock stepped ${seconds(step)} s ${step > 0 ? 'forward' : 'back'} (NTP, or a virtual machine restored or resumed); the schedule is re-armed on the new time and the due sync runs now`,
        );
      } else if (silent > intervalMs + OVERDUE_GRACE_MS) {
        this.logger.warn(
          { silentSeconds: seconds(silent) },
          `no incremental sync tick came for ${seconds(silent)} s though one is due every ${seconds(intervalMs)} s; the schedule is re-armed and the due sync runs now`,
        );
      } else {
        continue;
      }
      await this.arm();
      void this.tick('incremental');
    }
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Starts a run of this kind now unless one is running. */
  tick(kind: ScheduledKind): Promise<unknown> | undefined {
    if (this.stopped) return undefined;
    if (kind === 'incremental') this.lastIncrementalTick = this.clock.monotonic();
    if (this.current) {
      if (kind === 'deep') {
        this.deepWaiting = true;
        this.logger.info(
          { running: this.currentKind },
          'deep sync due while a run is in progress; it starts when that run ends',
        );
      } else {
        this.logger.info({ running: this.currentKind }, 'incremental tick skipped: a run is in progress');
      }
      return undefined;
    }
    const chosen = kind === 'incremental' && this.deepOverdue() ? 'deep' : kind;
    this.currentKind = chosen;
    const running = this.run(chosen)
      .catch((error: unknown) => this.logger.error({ err: error, kind: chosen }, 'sync run crashed'))
      .finally(() => {
        this.current = undefined;
        this.currentKind = undefined;
        if (this.deepWaiting && !this.stopped) {
          this.deepWaiting = false;
          this.tick('deep');
        }
      });
    this.current = running;
    return running;
  }

  /** The last successful deep sync is older than the latest slot, and none was tried in the last half hour. */
  private deepOverdue(): boolean {
    if (!this.history || !this.sync || this.history.fresh()) return false;
    const now = new Date(this.clock.now());
    const slot = lastDeepSlot(now, this.sync.deepSyncHours, this.sync.timeZone);
    const success = this.history.lastSuccess();
    if (success && success >= slot) return false;
    const attempt = this.history.lastAttempt();
    if (attempt && attempt.getTime() > Math.max(slot.getTime(), now.getTime() - DEEP_RETRY_MS)) return false;
    this.logger.warn(
      { slot: slot.toISOString(), lastDeepSync: success?.toISOString() ?? null },
      'the deep sync of the latest slot has not run; running it now',
    );
    return true;
  }

  /** Stops the schedule; resolves when the run in progress (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeWatchdog();
    for (const task of this.tasks) await task.destroy();
    this.tasks = [];
    await this.current;
  }
}
