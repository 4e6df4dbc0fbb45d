import type { Logger } from '../../logging/logger.ts';
import { type Clock, systemClock } from '../../support/clock.ts';
import type { StateStore } from '../../state/store.ts';
import { inChunks } from './chunks.ts';
import { ProgressLine } from './progress.ts';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  logSettled,
  PENDING_MARGIN_MS,
  type PendingClock,
  systemBootId,
} from './pending-age.ts';
import { RunScratch } from './scratch.ts';
import type { PendingSettled, StreamWriterOptions } from './writer.ts';

/** A run's options where its caller does not set them. */
export const RUN_DEFAULTS = {
  dryRun: false,
  /** Batches sent at once: hides amoCRM's latency while the rate limiter keeps the pace. */
  maxInFlight: 3,
  /** Least time between two progress lines. */
  progressEveryMs: 5000,
  /** The client's request timeout: a create not seen is lost only once older than this plus the margin. */
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  pendingMarginMs: PENDING_MARGIN_MS,
};

export type StreamOutcome = 'ok' | 'failed' | 'stopped';

/** What every run is given, besides its stream's own. */
export interface RunDeps {
  store: StateStore;
  logger: Logger;
  /** amoCRM requests sent so far by this process (for the run's count). */
  requestCount: () => number;
  /** The stream's map, resolved against the account. */
  resolved: unknown;
  /** Wall and monotonic time (a simulation steps them); the system's by default. */
  clock?: Clock;
  /** The boot the monotonic clock belongs to (`systemBootId()` by default). */
  boot?: string;
}

export interface RunOptions extends Partial<typeof RUN_DEFAULTS> {
  batchSize: number;
  /** Asked before each row: true ends the run after the batches in flight (graceful shutdown). */
  shouldStop?: () => boolean;
}

/** What a run asks of its stream's writer (`StreamWriter`). */
export interface RunWriter<PendingEntry> {
  readonly fatal: Error | undefined;
  confirmPending(pending: readonly PendingEntry[]): Promise<PendingSettled>;
  flush(): Promise<void>;
  settle(): Promise<void>;
}

/** The steps that differ from one stream's run to another's, in the order the run takes them. */
export interface RunSteps<Row, PendingEntry> {
  /** Reads IDENT's clock and refreshes the stream's mirror of amoCRM. */
  start(): Promise<void>;
  /** The creates an earlier run left pending (not asked in a dry run). */
  pending(): readonly PendingEntry[];
  /** How settled pending creates are named in the log ('creates', 'deal creates'). */
  settledNoun: 'creates' | 'deal creates';
  /** After the pending creates are settled (not in a dry run). */
  afterSettle?(): Promise<void>;
  /** The rows the run reads, and how many are looked up in the state together. */
  rows: AsyncIterable<Row>;
  chunk: number;
  /** Whether records that failed before are retried when due (not for a single record). */
  retryFailed: boolean;
  /** After the rows and the retries, while the run is not stopping. */
  afterRows?(): Promise<void>;
  /** Before what is queued is sent at the end. */
  beforeFlush?(): Promise<void>;
  /** The run read everything it was to read: findings, the checkpoint. */
  complete(): void | Promise<void>;
}

/**
 * One run of a stream, once for every stream: the scratch of what it saw, the creates an earlier
 * run left pending settled first, the rows read in chunks, the records that failed before retried
 * when due, what the writer reports gone matched again, and the outcome — the checkpoint moves
 * (in `complete`) only when every write was handled and the run was not stopped. A stream supplies
 * how rows are handled and its steps (`RunSteps`).
 */
export abstract class StreamRun<
  Row,
  Mapped,
  PendingEntry,
  Writer extends RunWriter<PendingEntry>,
  Deps extends RunDeps,
  Options extends RunOptions,
> {
  protected readonly deps: Deps;
  protected readonly options: typeof RUN_DEFAULTS & Options;
  protected abstract counts: { linked: number };
  protected writer!: Writer;
  protected scratch!: RunScratch;
  /** Records whose create is sent but not seen in amoCRM yet: neither created nor failed. */
  protected pending = 0;
  /** Records whose create an earlier run sent and amoCRM may still apply: not touched by this run. */
  protected waiting = new Set<string>();
  /** Records whose earlier create was found and linked: read again, as IDENT may have changed since. */
  protected confirmedEarlier: string[] = [];
  /** Records whose amoCRM entity turned out gone: matched again once the batch that found it is done. */
  protected readonly again: Mapped[] = [];

  constructor(deps: Deps, options: Options) {
    this.deps = deps;
    this.options = { ...RUN_DEFAULTS, ...options };
  }

  /** A create amoCRM did not confirm (its answer lost): pending, looked for before the next run sends anything. */
  protected notConfirmed(key: Record<string, string>, noun: string): void {
    this.pending += 1;
    this.deps.logger.warn(
      key,
      `${noun} not confirmed by amoCRM yet; the next run looks for it before sending anything`,
    );
  }

  /** Looks up a chunk of rows in the state, plans and queues their writes. */
  protected abstract handleRows(rows: readonly Row[]): Promise<void>;
  /** Matches again a record whose entity turned out gone. */
  protected abstract matchAgain(mapped: Mapped): Promise<void>;
  /** The keys of the records whose retry is due. */
  protected abstract failuresDue(): string[];
  /** One row by its key, for a retry; undefined when IDENT no longer has it. */
  protected abstract readOne(key: string): Promise<Row | undefined>;
  /** A record that failed before and is gone from IDENT: its failure ends. */
  protected abstract forgetFailure(key: string): void;

  protected time(): PendingClock {
    return { clock: this.deps.clock ?? systemClock, boot: this.deps.boot ?? systemBootId() };
  }

  /** The run's wall clock now (a simulation's virtual one): failures are recorded and judged due on it. */
  protected now(): Date {
    return new Date(this.time().clock.now());
  }

  /** How long after it was sent a create not seen in amoCRM counts as lost. */
  protected pendingWaitMs(): number {
    return this.options.requestTimeoutMs + this.options.pendingMarginMs;
  }

  /** What the stream's writer is given besides its entity API (the mirror's refresher, the state, the clocks). */
  protected writerDeps<Refresher>(refresher: Refresher): {
    store: StateStore;
    resolved: Deps['resolved'];
    logger: Logger;
    refresher: Refresher;
    time: PendingClock;
  } {
    const { store, logger } = this.deps;
    return { store, resolved: this.deps.resolved, logger, refresher, time: this.time() };
  }

  protected progressLine(label: 'sync progress' | 'deal sync progress'): ProgressLine {
    return new ProgressLine(this.deps.logger, label, this.options.progressEveryMs, this.deps.requestCount);
  }

  protected writerOptions(): StreamWriterOptions {
    const { batchSize, maxInFlight, dryRun } = this.options;
    return { batchSize, maxInFlight, dryRun, pendingWaitMs: this.pendingWaitMs() };
  }

  protected stopping(): boolean {
    return this.writer.fatal !== undefined || (this.options.shouldStop?.() ?? false);
  }

  /** The steps of a run, with the writer already made; the outcome, and the error of a failed run. */
  protected async steps(
    steps: RunSteps<Row, PendingEntry>,
    logger: Logger,
  ): Promise<{ outcome: StreamOutcome; error?: Error }> {
    let outcome: StreamOutcome = 'ok';
    let error: Error | undefined;
    try {
      this.scratch = new RunScratch();
      await steps.start();
      if (!this.options.dryRun) {
        const pending = steps.pending();
        const settled = await this.writer.confirmPending(pending);
        this.counts.linked += settled.confirmed.length;
        this.confirmedEarlier = settled.confirmed;
        this.waiting = new Set(settled.waiting);
        this.pending += settled.waiting.length;
        if (pending.length > 0) logSettled(logger, steps.settledNoun, settled);
        await steps.afterSettle?.();
      }
      await inChunks(
        steps.rows,
        steps.chunk,
        () => this.stopping(),
        (chunk) => this.handleRows(chunk),
      );
      if (steps.retryFailed && !this.stopping()) await this.retryFailed();
      if (!this.stopping()) await steps.afterRows?.();
      await steps.beforeFlush?.();
      await this.finishWrites();
      if (this.writer.fatal) throw this.writer.fatal;
      if (this.stopping()) outcome = 'stopped';
      else await steps.complete();
    } catch (thrown) {
      outcome = 'failed';
      error = thrown as Error;
      await this.writer.settle();
      if (this.writer.fatal && this.writer.fatal !== error) error = this.writer.fatal;
    } finally {
      this.scratch?.close();
    }
    return { outcome, error };
  }

  /**
   * Records that failed before, when their retry is due (creates amoCRM never got are due at
   * once), and those whose earlier create was only now found.
   */
  private async retryFailed(): Promise<void> {
    const due = [...new Set([...this.confirmedEarlier, ...this.failuresDue()])].filter(
      (key) => !this.scratch.wasSeen(key),
    );
    for (const key of due) {
      if (this.stopping()) return;
      const row = await this.readOne(key);
      if (row) await this.handleRows([row]);
      else this.forgetFailure(key);
    }
  }

  /** Sends what is queued, and matches again the records whose entity turned out gone meanwhile. */
  private async finishWrites(): Promise<void> {
    for (;;) {
      await this.writer.flush();
      if (this.again.length === 0 || this.stopping()) return;
      await this.matchAllAgain();
    }
  }

  protected async matchAllAgain(): Promise<void> {
    while (this.again.length > 0 && !this.stopping()) await this.matchAgain(this.again.shift()!);
  }

  /** The writer's report of an entity gone: the record is matched again after its batch. */
  async resolveAgain(mapped: Mapped): Promise<void> {
    this.again.push(mapped);
  }

  /** The run's last line: what it did, and how it ended. */
  protected logFinished(
    logger: Logger,
    noun: 'sync' | 'deal sync',
    summary: Record<string, unknown>,
    outcome: StreamOutcome,
    error: Error | undefined,
  ): void {
    if (outcome === 'failed') logger.error({ ...summary, err: error }, `${noun} failed`);
    else logger.info(summary, outcome === 'stopped' ? `${noun} stopped` : `${noun} finished`);
  }
}
