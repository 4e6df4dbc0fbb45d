import type { SentStamp } from '../sent-stamp.ts';
import type { FailureRow } from './failure-table.ts';
import type { PendingCreate } from './pending-table.ts';
import type { RefusalRow, RefusedValue, StandingRefusals } from './refusal-table.ts';
import type { Sql, StateAccess, Transaction } from './sql.ts';
import { type StreamLayout, StreamTables } from './stream-tables.ts';

/** An item's key under the stream's own name for it (`patientId`, `receptionId`). */
export type Keyed<K extends string> = { [P in K]: string };

/**
 * A stream's memory as its engine uses it: creates in flight, failures and refused values under the
 * stream's own name for its items, over the tables every stream keeps the same way. A stream's
 * store adds its links and whatever else is its own.
 */
export abstract class StreamStore<K extends string, Entry extends PendingCreate, Stored> {
  /** The stream's checkpoint, creates in flight, failures and refusals. */
  readonly tables: StreamTables<Entry, Stored>;
  protected readonly sql: Sql;
  protected readonly transaction: Transaction;
  protected readonly readOnly: boolean;
  private readonly keyName: K;

  constructor(access: StateAccess, layout: StreamLayout<Entry, Stored>, keyName: K) {
    this.tables = new StreamTables(access, layout);
    this.sql = access.sql;
    this.transaction = access.transaction;
    this.readOnly = access.readOnly;
    this.keyName = keyName;
  }

  // ── pending creates ────────────────────────────────────────────────────────────────────────
  /**
   * Written before a create request is sent, with when it is sent: after a crash these are looked
   * up, never blindly created again.
   */
  addPending(entries: readonly Entry[], sent: SentStamp): void {
    this.tables.addPending(entries, sent);
  }

  /**
   * A new sent time for pending creates whose stamp could not be trusted, or that are sent again
   * (then with the values refused so far, left out of what is sent), in one transaction.
   */
  restampPending(
    entries: readonly (Keyed<K> & { sent: SentStamp; refused?: readonly RefusedValue[] })[],
  ): void {
    this.tables.restampPending(
      entries.map((entry) => ({
        key: entry[this.keyName],
        sent: entry.sent,
        ...(entry.refused ? { refused: entry.refused } : {}),
      })),
    );
  }

  /** Creates not yet proven, oldest first; the key narrows them to one item's. */
  pending(options: Partial<Keyed<K>> & { limit?: number } = {}): Stored[] {
    return this.tables.pending.list({ key: options[this.keyName], limit: options.limit });
  }

  pendingCount(): number {
    return this.tables.pending.count();
  }

  // ── failures ───────────────────────────────────────────────────────────────────────────────
  /**
   * Items not synced, with the reason; their pending creates end in the same transaction.
   * `dueNow`: tried again in this run (a create amoCRM proved never landed), not after a back-off.
   */
  recordFailures(
    entries: readonly (Keyed<K> & { reason: string; dueNow?: boolean })[],
    at = new Date(),
  ): void {
    this.tables.recordFailures(
      entries.map((entry) => ({ key: entry[this.keyName], reason: entry.reason, dueNow: entry.dueNow })),
      at,
    );
  }

  /** Unchanged items: only a failure they had is cleared. */
  clearFailures(keys: readonly string[]): void {
    this.tables.clearFailures(keys);
  }

  /**
   * Failed items whose next try is due: after 2^attempts minutes, at most six hours apart, so an
   * item that can never sync costs a few reads a day, not one every run.
   */
  failuresDue(now = new Date(), limit = 200): string[] {
    return this.tables.failures.due(now, limit);
  }

  /** Which of these items have an open failure, in one query. */
  failedAmong(keys: readonly string[]): Set<string> {
    return this.tables.failures.among(keys);
  }

  failures(limit = 20): (Omit<FailureRow, 'key'> & Keyed<K>)[] {
    return this.tables.failures.list(limit).map(({ key, ...rest }) => this.named(key, rest));
  }

  failureCount(): number {
    return this.tables.failures.count();
  }

  // ── refused fields ─────────────────────────────────────────────────────────────────────────
  /** These items' entities hold every value of the map after all (a deep sync saw it): their refusals end. */
  endRefusals(keys: readonly string[]): void {
    this.tables.refusals.end(keys);
  }

  /** The standing refusals of these items: the hash they stand at and their oldest last try. */
  standingRefusals(keys: readonly string[]): Map<string, StandingRefusals> {
    return this.tables.refusals.standing(keys);
  }

  refusalCount(): number {
    return this.tables.refusals.count();
  }

  /** The newest refusals first. */
  protected refusalRows(limit: number): (Omit<RefusalRow, 'key'> & Keyed<K>)[] {
    return this.tables.refusals.list(limit).map(({ key, ...rest }) => this.named(key, rest));
  }

  private named<T extends object>(key: string, rest: T): T & Keyed<K> {
    return { [this.keyName]: key, ...rest } as T & Keyed<K>;
  }
}
