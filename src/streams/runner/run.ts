import type { Logger } from '../../logging/logger.ts';
import { inChunks } from './chunks.ts';
import { logSettled } from './pending-age.ts';
import { RunScratch } from './scratch.ts';
import type { PendingSettled } from './writer.ts';

export type StreamOutcome = 'ok' | 'failed' | 'stopped';

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
  complete(): void;
}

/**
 * One run of a stream, once for every stream: the scratch of what it saw, the creates an earlier
 * run left pending settled first, the rows read in chunks, the records that failed before retried
 * when due, what the writer reports gone matched again, and the outcome — the checkpoint moves
 * (in `complete`) only when every write was handled and the run was not stopped. A stream supplies
 * how rows are handled and its steps (`RunSteps`).
 */
export abstract class StreamRun<Row, Mapped, PendingEntry, Writer extends RunWriter<PendingEntry>> {
  protected abstract readonly options: { dryRun: boolean; shouldStop?: () => boolean };
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
      else steps.complete();
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
