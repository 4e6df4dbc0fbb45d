import cron from 'node-cron';
import type { SyncConfig } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';
import { clinicToday, wallClockToUnix } from '../mapping/transforms/dates.ts';

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

/**
 * Runs syncs on the schedule, one at a time: an incremental tick that finds a run in progress is
 * skipped (the next tick picks the changes up); a deep tick waits and runs right after it. node-cron
 * drops a slot that fires more than a second late (a clock step, a resumed VM, a busy process), so
 * every tick also checks the deep sync itself: when the last successful one is older than the
 * latest 08:00/20:00 slot, the tick runs a deep sync instead.
 */
export class Scheduler {
  private readonly run: (kind: ScheduledKind) => Promise<unknown>;
  private readonly logger: Logger;
  private readonly createTask: CreateTask;
  private readonly history: DeepHistory | undefined;
  private readonly now: () => Date;
  private sync: SyncConfig | undefined;
  private tasks: CronTask[] = [];
  private current: Promise<unknown> | undefined;
  private currentKind: ScheduledKind | undefined;
  private deepWaiting = false;
  private stopped = false;

  constructor(
    run: (kind: ScheduledKind) => Promise<unknown>,
    logger: Logger,
    createTask: CreateTask = nodeCronTask,
    options: { history?: DeepHistory; now?: () => Date } = {},
  ) {
    this.run = run;
    this.logger = logger;
    this.createTask = createTask;
    this.history = options.history;
    this.now = options.now ?? (() => new Date());
  }

  start(sync: SyncConfig): void {
    this.sync = sync;
    const expressions = cronExpressions(sync);
    for (const kind of ['incremental', 'deep'] as const) {
      const task = this.createTask(expressions[kind], () => this.tick(kind), {
        timezone: sync.timeZone,
        name: kind,
        logger: this.logger,
        onMissed: (slot) =>
          this.logger.warn(
            { kind, slot: slot.toISOString() },
            'a scheduled sync slot was missed (clock step, paused machine or busy process); the next tick catches up',
          ),
      });
      void task.start();
      this.tasks.push(task);
    }
    this.logger.info({ ...expressions, timeZone: sync.timeZone }, 'schedule started');
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Starts a run of this kind now unless one is running. */
  tick(kind: ScheduledKind): Promise<unknown> | undefined {
    if (this.stopped) return undefined;
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
    const now = this.now();
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
    for (const task of this.tasks) await task.destroy();
    this.tasks = [];
    await this.current;
  }
}
