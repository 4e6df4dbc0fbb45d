import { CheckpointMark } from './checkpoint.ts';
import { FailureTable } from './failure-table.ts';
import { type PendingCreate, type PendingLayout, PendingTable } from './pending-table.ts';
import { RefusalTable, type RefusedValue, type SettledWrite } from './refusal-table.ts';
import type { SentStamp } from '../sent-stamp.ts';
import type { StateAccess, Transaction } from './sql.ts';

/** Where one stream keeps its part of the state: meta keys of its checkpoint, its tables, its key column. */
export interface StreamLayout<Entry extends PendingCreate, Stored> {
  checkpoint: { at: string; rowVersion: string };
  pending: PendingLayout<Entry, Stored>;
  failures: string;
  refusals: string;
}

/**
 * What the runner keeps for every stream, the same way: the checkpoint, creates in flight, failures
 * with back-off and refused values, keyed by the stream's item (a patient, a reception). Where two
 * of them must change together, they change in one transaction.
 */
export class StreamTables<Entry extends PendingCreate, Stored> {
  readonly checkpoint: CheckpointMark;
  readonly pending: PendingTable<Entry, Stored>;
  readonly failures: FailureTable;
  readonly refusals: RefusalTable;
  private readonly transaction: Transaction;

  constructor(access: StateAccess, layout: StreamLayout<Entry, Stored>) {
    const key = layout.pending.key.name;
    this.transaction = access.transaction;
    this.checkpoint = new CheckpointMark(access.sql, access.transaction, layout.checkpoint);
    this.failures = new FailureTable(access, { table: layout.failures, key });
    this.refusals = new RefusalTable(access, { table: layout.refusals, key });
    this.pending = new PendingTable(access, layout.pending, this.refusals);
  }

  /** Items not synced, with the reason; their pending creates end in the same transaction. */
  recordFailures(
    entries: readonly { key: string; reason: string; dueNow?: boolean | undefined }[],
    at: Date,
  ): void {
    if (entries.length === 0) return;
    this.transaction(() => {
      this.failures.record(entries, at);
      this.pending.clear(entries.map((entry) => entry.key));
    });
  }

  /**
   * What amoCRM now holds for these items (inside the caller's transaction, with the links): their
   * pending creates and failures end, and their refusals follow what landed.
   */
  settle(writes: readonly SettledWrite[], at: Date): void {
    const keys = writes.map((write) => write.key);
    this.pending.clear(keys);
    this.failures.clear(keys);
    this.refusals.settle(writes, at);
  }

  /** A write of these items' pending creates, in one transaction. */
  addPending(entries: readonly Entry[], sent: SentStamp): void {
    if (entries.length === 0) return;
    this.transaction(() => this.pending.add(entries, sent));
  }

  /** New sent times (and the values refused so far) for these pending creates, in one transaction. */
  restampPending(
    entries: readonly { key: string; sent: SentStamp; refused?: readonly RefusedValue[] }[],
  ): void {
    if (entries.length === 0) return;
    this.transaction(() => this.pending.restamp(entries));
  }

  /** Items that needed nothing: only a failure they had ends. */
  clearFailures(keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.transaction(() => this.failures.clear(keys));
  }
}
