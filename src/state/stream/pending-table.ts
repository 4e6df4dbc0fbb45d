import type { SQLOutputValue } from 'node:sqlite';
import { KeyedTable } from './keyed-table.ts';
import type { RefusalTable, RefusedValue } from './refusal-table.ts';
import { type SentStamp, sentStampOf } from '../sent-stamp.ts';
import { type Column, type StateAccess, upsertSql, valuesOf } from './sql.ts';

/** What every create in flight carries, whatever the stream. */
export interface PendingCreate {
  requestId: string;
  /** The content hash sent. */
  hash: string;
  /** The highest entity id known before the create was sent: the new entity's id is above it. */
  knownMaxId: number;
}

export interface PendingCommon extends PendingCreate {
  key: string;
  createdAt: string;
  /** When the create was sent (wall and monotonic clocks): it is not called lost before amoCRM had time. */
  sent: SentStamp;
  /**
   * Values amoCRM refused before this create was sent without them: they stand once it is found,
   * as they would have had its answer arrived.
   */
  refused: RefusedValue[];
}

/** A stream's pending-create table: its key and own columns, and how a stored row reads back. */
export interface PendingLayout<Entry extends PendingCreate, Stored> {
  table: string;
  key: Column<Entry>;
  columns: readonly Column<Entry>[];
  read: (row: Record<string, SQLOutputValue>, common: PendingCommon) => Stored;
}

/** The refusals a pending create carries (JSON); anything unreadable counts as none. */
export const refusedOf = (json: string): RefusedValue[] => {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed)
      ? parsed.filter(
          (entry): entry is RefusedValue =>
            typeof entry?.field === 'string' && typeof entry?.detail === 'string',
        )
      : [];
  } catch {
    return [];
  }
};

/**
 * Creates in flight, written before the request is sent, with when it is sent: after a crash these
 * are looked up, never blindly created again. Writes run in the caller's transaction.
 */
export class PendingTable<Entry extends PendingCreate, Stored> extends KeyedTable {
  private readonly layout: PendingLayout<Entry, Stored>;
  private readonly columns: readonly Column<Entry, SentStamp>[];
  private readonly refusals: RefusalTable;

  constructor(access: StateAccess, layout: PendingLayout<Entry, Stored>, refusals: RefusalTable) {
    super(access, { table: layout.table, key: layout.key.name });
    this.layout = layout;
    this.refusals = refusals;
    this.columns = [
      layout.key,
      { name: 'request_id', value: (entry) => entry.requestId },
      { name: 'hash', value: (entry) => entry.hash },
      { name: 'known_max_id', value: (entry) => entry.knownMaxId },
      { name: 'created_at', value: (_, sent) => new Date(sent.sentAt).toISOString() },
      { name: 'sent_monotonic', value: (_, sent) => sent.monotonic ?? null },
      { name: 'sent_boot', value: (_, sent) => sent.boot },
      ...layout.columns,
    ];
  }

  add(entries: readonly Entry[], sent: SentStamp): void {
    const insert = this.sql(upsertSql(this.table, this.key, this.columns, { refused: "'[]'" }));
    for (const entry of entries) insert.run(...valuesOf(this.columns, entry, sent));
  }

  /**
   * A new sent time for creates whose stamp could not be trusted, or that are sent again — then
   * with the values refused so far, left out of what is sent. Those are listed at once (`status`),
   * not only once the create is found: it may stay unproven a while.
   */
  restamp(entries: readonly { key: string; sent: SentStamp; refused?: readonly RefusedValue[] }[]): void {
    const update = this.sql(
      `UPDATE ${this.table} SET created_at = ?, sent_monotonic = ?, sent_boot = ?, refused = COALESCE(?, refused) WHERE ${this.key} = ?`,
    );
    const hashOf = this.sql(`SELECT hash FROM ${this.table} WHERE ${this.key} = ?`);
    for (const entry of entries) {
      const when = new Date(entry.sent.sentAt);
      update.run(
        when.toISOString(),
        entry.sent.monotonic ?? null,
        entry.sent.boot,
        entry.refused ? JSON.stringify(entry.refused) : null,
        entry.key,
      );
      const row = hashOf.get(entry.key) as { hash: string } | undefined;
      if (row) this.refusals.add(entry.key, entry.refused ?? [], row.hash, when);
    }
  }

  /** Creates not yet proven, oldest first; `key` narrows them to one item's. */
  list(options: { key?: string | undefined; limit?: number | undefined } = {}): Stored[] {
    if (this.missing()) return [];
    const rows =
      options.key === undefined
        ? this.sql(`SELECT * FROM ${this.table} ORDER BY created_at LIMIT ?`).all(options.limit ?? 10_000)
        : this.sql(`SELECT * FROM ${this.table} WHERE ${this.key} = ?`).all(options.key);
    return rows.map((row) =>
      this.layout.read(row, {
        key: String(row[this.key]),
        requestId: String(row.request_id),
        hash: String(row.hash),
        knownMaxId: Number(row.known_max_id),
        createdAt: String(row.created_at),
        sent: sentStampOf(row as { created_at: string; sent_monotonic: number | null; sent_boot: string }),
        refused: refusedOf(String(row.refused)),
      }),
    );
  }
}
