import cron from 'node-cron';
import type { SyncConfig } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';

export type ScheduledKind = 'incremental' | 'deep';

/** Cron expressions of the two schedules (minutes and hours on the clinic's clock). */
export function cronExpressions(sync: SyncConfig): Record<ScheduledKind, string> {
  const minutes = sync.intervalMinutes;
  const incremental =
    minutes < 60 ? `*/${minutes} * * * *` : minutes >= 1440 ? '0 0 * * *' : `0 */${minutes / 60} * * *`;
  const hours = [...new Set(sync.deepSyncHours)].sort((a, b) => a - b).join(',');
  return { incremental, deep: `0 ${hours} * * *` };
}

export interface CronTask {
  start(): void | Promise<void>;
  destroy(): void | Promise<void>;
  getNextRun(): Date | null;
}
export type CreateTask = (
  expression: string,
  run: () => void,
  options: { timezone: string; name: string },
) => CronTask;

const nodeCronTask: CreateTask = (expression, run, options) =>
  cron.createTask(expression, () => run(), { ...options, noOverlap: false });

/**
 * Runs syncs on the schedule, one at a time: an incremental tick that finds a run in progress is
 * skipped (the next tick picks the changes up); a deep tick waits and runs right after it.
 */
export class Scheduler {
  private readonly run: (kind: ScheduledKind) => Promise<unknown>;
  private readonly logger: Logger;
  private readonly createTask: CreateTask;
  private tasks: CronTask[] = [];
  private current: Promise<unknown> | undefined;
  private currentKind: ScheduledKind | undefined;
  private deepWaiting = false;
  private stopped = false;

  constructor(
    run: (kind: ScheduledKind) => Promise<unknown>,
    logger: Logger,
    createTask: CreateTask = nodeCronTask,
  ) {
    this.run = run;
    this.logger = logger;
    this.createTask = createTask;
  }

  start(sync: SyncConfig): void {
    const expressions = cronExpressions(sync);
    for (const kind of ['incremental', 'deep'] as const) {
      const task = this.createTask(expressions[kind], () => this.tick(kind), {
        timezone: sync.timeZone,
        name: kind,
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
    this.currentKind = kind;
    const running = this.run(kind)
      .catch((error: unknown) => this.logger.error({ err: error, kind }, 'sync run crashed'))
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

  /** Stops the schedule; resolves when the run in progress (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const task of this.tasks) await task.destroy();
    this.tasks = [];
    await this.current;
  }
}
