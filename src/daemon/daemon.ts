import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertMonitor } from '../alerts/monitor.ts';
import { startAlerts } from '../alerts/daemon-alerts.ts';
import { AmoCrmError } from '../amocrm/errors.ts';
import { type Config, ConfigError } from '../config/config.ts';
import { ActionableError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { Clock } from '../support/clock.ts';
import { MapFileError } from '../mapping/load-map.ts';
import { withRunLock } from '../state/locks.ts';
import {
  FieldsSetupError,
  type FullSyncResult,
  openSyncContext,
  type SyncContext,
} from '../streams/runner/context.ts';
import type { SyncResult } from '../streams/contacts/run.ts';
import { type Health, startHealthServer } from './health-server.ts';
import { DaemonMetrics } from './metrics.ts';
import { type CreateTask, type CronTask, nodeCronTask, type ScheduledKind, Scheduler } from './schedule.ts';
import { mountConsole } from '../console/mount.ts';
import { takeQueue } from '../console/queue.ts';
import { streamDeepHistory, streamKinds } from './stream-history.ts';
import { systemClock } from '../support/clock.ts';

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  /** Builds the sync parts; tests pass their own source and client. */
  openContext?: () => Promise<SyncContext>;
  createTask?: CreateTask;
  /** The schedule's clock and its watchdog's (a simulation passes virtual time). */
  clock?: Clock;
  /** Serve health on a free port even though HEALTH_PORT=0 (tests). */
  anyHealthPort?: boolean;
  /** First and largest wait between start-up attempts. */
  retryMs?: [number, number];
  /** The console asks for its token even on loopback (tests of a non-loopback daemon). */
  consoleRequiresToken?: boolean;
}

/** Errors no retry can fix: a person must act, and until then nothing more is sent. */
const needsPerson = (error: unknown) =>
  error instanceof AmoCrmError && (error.kind === 'auth' || error.kind === 'blocked');
const isConfiguration = (error: unknown) =>
  error instanceof ConfigError ||
  error instanceof MapFileError ||
  error instanceof FieldsSetupError ||
  (error instanceof ActionableError && error.exitCode === 2);

/**
 * The long-running process: checks everything at start (retrying what may pass by itself while
 * /healthz says why), runs an incremental sync, then the schedule, one run at a time, until a
 * signal; then it lets the batches in flight finish and exits.
 */
export class Daemon {
  readonly metrics = new DaemonMetrics();
  private readonly options: DaemonOptions;
  private health: Health = {
    healthy: false,
    reason: 'starting: checking the configuration, the amoCRM fields and the IDENT database',
    since: new Date().toISOString(),
  };
  private context: SyncContext | undefined;
  private scheduler: Scheduler | undefined;
  private healthServer: { port: number; close(): Promise<void> } | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly tasks = new Map<string, CronTask>();
  private runningKind: ScheduledKind | undefined;
  /** The console asked for a run while one was in progress. */
  private runWanted = false;
  /** amoCRM refused the integration: nothing runs until a restart. */
  private scheduleStopped = false;
  /** Weighs the alert rules after each run and on a timer (src/alerts). */
  alerts: AlertMonitor | undefined;
  /** Set when the daemon must end with an error code (configuration). */
  exitCode = 0;

  constructor(options: DaemonOptions) {
    this.options = options;
  }

  get healthPort(): number | undefined {
    return this.healthServer?.port;
  }

  get status(): Health {
    return this.health;
  }

  /** Starts the health endpoint and the start-up sequence; resolves once the schedule runs or start-up ended for good. */
  async start(): Promise<void> {
    const { config, logger } = this.options;
    if (config.healthPort > 0 || this.options.anyHealthPort) {
      const consoleRoutes = config.console.enabled
        ? mountConsole(config, logger, this.consoleView(), {
            requireToken: this.options.consoleRequiresToken,
          })
        : undefined;
      this.healthServer = await startHealthServer(
        config.healthPort,
        () => this.health,
        this.metrics,
        config.healthHost,
        consoleRoutes,
        logger,
      );
      logger.info(
        { host: config.healthHost, port: this.healthServer.port },
        `health endpoint listening (/healthz, /metrics${consoleRoutes ? ', the console on /console' : ''})`,
      );
    }
    this.alerts = startAlerts(config, logger, this.metrics, this.options.clock);
    await this.startUp();
  }

  private setHealth(healthy: boolean, reason: string): void {
    if (this.health.healthy !== healthy || this.health.reason !== reason) {
      this.health = { healthy, reason, since: new Date().toISOString() };
    }
  }

  private async startUp(): Promise<void> {
    const { logger, config } = this.options;
    const [firstWait, maxWait] = this.options.retryMs ?? [5_000, 300_000];
    let wait = firstWait;
    logger.info(this.health.reason);
    while (!this.stopping) {
      try {
        this.context = await (this.options.openContext ?? (() => openSyncContext(config, logger)))();
        break;
      } catch (error) {
        void this.alerts?.startupFailed(error);
        if (isConfiguration(error)) {
          logger.fatal({ err: error }, 'configuration error');
          this.setHealth(false, (error as Error).message);
          this.exitCode = 2;
          throw error;
        }
        if (needsPerson(error)) {
          logger.fatal(
            { err: error },
            'amoCRM refuses this integration; nothing more is sent until the daemon is restarted',
          );
          this.setHealth(false, (error as Error).message);
          return;
        }
        const reason = error instanceof Error ? error.message : String(error);
        this.setHealth(false, `start-up failed, retrying in ${Math.round(wait / 1000)} s: ${reason}`);
        logger.warn({ err: error, retryInSeconds: Math.round(wait / 1000) }, 'start-up failed; retrying');
        await this.pause(wait);
        wait = Math.min(maxWait, wait * 2);
      }
    }
    if (this.stopping || !this.context) return;
    this.metrics.watchAmoCrm(() => this.context?.client.http.stats);
    this.setHealth(true, 'running');
    const store = this.context.store;
    const createTask = this.options.createTask ?? nodeCronTask;
    this.scheduler = new Scheduler(
      (kind) => this.runOnce(kind),
      logger,
      (expression, run, options) => {
        const task = createTask(expression, run, options);
        this.tasks.set(options.name, task);
        return task;
      },
      {
        clock: this.options.clock,
        history: streamDeepHistory(store, this.context.dealsWanted),
      },
    );
    this.scheduler.start(config.sync);
    void this.scheduler.tick('incremental');
  }

  private async runOnce(kind: ScheduledKind): Promise<SyncResult | undefined> {
    const context = this.context;
    if (!context || this.stopping) return undefined;
    const sync = { ...this.options.config.sync, receptions: context.dealsWanted };
    const now = new Date((this.options.clock ?? systemClock).now());
    this.runningKind = kind;
    let result: FullSyncResult;
    try {
      result = await withRunLock(this.options.config.stateDir, () => {
        // What the console asked for goes to this run, never to one in progress.
        takeQueue(context.store, now);
        return context.syncAll(streamKinds(kind, context.store, sync, now), {
          shouldStop: () => this.stopping,
        });
      });
    } catch (error) {
      // A run that threw rather than failed (the state's disk full, say): the health says so, and
      // the alerts weigh it, as for a failed run — the scheduler alone would only log it.
      this.crashed(kind, error);
      return undefined;
    } finally {
      this.runningKind = undefined;
      if (this.runWanted && !this.stopping) {
        this.runWanted = false;
        // After the scheduler has let go of this run.
        setImmediate(() => void this.scheduler?.tick('incremental'));
      }
    }
    context.store.noteRun(result.runId, {
      deals: result.deals && {
        outcome: result.deals.outcome,
        read: result.deals.read,
        written:
          result.deals.created +
          result.deals.updated +
          result.deals.moved +
          result.deals.linked +
          result.deals.repaired +
          result.deals.relinked +
          result.deals.closed,
        failed: result.deals.failed,
      },
    });
    this.metrics.recordRun(result, result.outcome === 'ok');
    void this.alerts?.evaluate();
    if (result.deals) this.metrics.recordDealRun(result.deals);
    const failed =
      result.outcome === 'failed' ? result : result.deals?.outcome === 'failed' ? result.deals : undefined;
    if (failed) {
      const reason = failed.error?.message ?? 'the last sync failed';
      const what = failed === result ? 'sync' : 'deal sync';
      this.setHealth(false, `last ${failed.kind} ${what} failed: ${reason}`);
      if (needsPerson(failed.error)) {
        this.options.logger.fatal(
          { err: failed.error },
          'amoCRM refuses this integration; the schedule is stopped',
        );
        this.scheduleStopped = true;
        void this.scheduler?.stop();
      }
    } else if (result.outcome === 'ok') {
      this.setHealth(true, `last ${result.kind} sync ok`);
    }
    return result;
  }

  private crashed(kind: ScheduledKind, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.options.logger.error({ err: error, kind }, 'sync run crashed');
    this.setHealth(false, `last ${kind} sync crashed: ${reason}`);
    this.metrics.recordCrash(kind);
    void this.alerts?.evaluate();
  }

  /** What the console reads of the daemon and how it asks for a run. */
  private consoleView() {
    return {
      context: () => this.context,
      health: () => this.health,
      running: () => this.runningKind,
      nextRuns: () => ({
        incremental: this.tasks.get('incremental')?.getNextRun() ?? null,
        deep: this.tasks.get('deep')?.getNextRun() ?? null,
      }),
      requestRun: (kind: ScheduledKind) => {
        const scheduler = this.scheduler;
        if (!scheduler || this.stopping || this.scheduleStopped) return 'not running' as const;
        const busy = scheduler.busy;
        if (busy && kind === 'incremental') this.runWanted = true;
        else void scheduler.tick(kind);
        return busy ? ('after the run in progress' as const) : ('started' as const);
      },
    };
  }

  private async pause(ms: number): Promise<void> {
    const ac = new AbortController();
    this.wake = () => ac.abort();
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined);
    this.wake = undefined;
  }

  /** Stops scheduling, lets the run in progress finish its batches in flight, closes everything. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    this.setHealth(false, 'shutting down');
    await this.scheduler?.stop();
    await this.context?.close();
    await this.alerts?.stop();
    await this.healthServer?.close();
  }
}
