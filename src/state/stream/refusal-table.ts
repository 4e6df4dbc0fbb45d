import { KeyedTable } from './keyed-table.ts';

/** A value amoCRM refused, as a write reports it and a pending create keeps it. */
export interface RefusedValue {
  field: string;
  detail: string;
}

/**
 * A value amoCRM refused: the rest of the entity was written without it. It stands until a write
 * carrying that field lands (IDENT's value, or its removal, taken by amoCRM).
 */
export interface RefusalRow extends RefusedValue {
  key: string;
  /**
   * The item's content hash the refusal stands at (it follows the link): a deep sync does not
   * count the missing value as drift, except when the refusal is due to be tried again.
   */
  hash: string;
  /** When amoCRM first refused it. */
  at: string;
  /** When it was last sent (and refused): a deep sync tries it again once a day. */
  triedAt: string;
}

/** An item's standing refusals, as a deep sync weighs them. */
export interface StandingRefusals {
  hash: string;
  /** The oldest last try among them. */
  triedAt: Date;
}

/** What a write settled for one item: the hash now sent, what amoCRM refused, what landed. */
export interface SettledWrite {
  key: string;
  hash: string;
  /** Fields amoCRM refused in this write (recorded, or their last try moved). */
  refused?: readonly RefusedValue[] | undefined;
  /**
   * Fields this write put into amoCRM: their refusals end, and the others stand at the new hash.
   * Absent: every field landed (a create, or an entity found holding the item's data).
   */
  landed?: readonly string[] | undefined;
}

/** Refused values of a stream's items, one row per item and field. Writes run in the caller's transaction. */
export class RefusalTable extends KeyedTable {
  settle(writes: readonly SettledWrite[], at: Date): void {
    const clearAll = this.sql(`DELETE FROM ${this.table} WHERE ${this.key} = ?`);
    const clearOne = this.sql(`DELETE FROM ${this.table} WHERE ${this.key} = ? AND field_key = ?`);
    const follow = this.sql(`UPDATE ${this.table} SET hash = ? WHERE ${this.key} = ?`);
    for (const write of writes) {
      if (write.landed === undefined) clearAll.run(write.key);
      else {
        for (const field of write.landed) clearOne.run(write.key, field);
        follow.run(write.hash, write.key);
      }
      this.add(write.key, write.refused ?? [], write.hash, at);
    }
  }

  /** Records these refusals of one item at `hash`, or moves their last try. */
  add(key: string, refused: readonly RefusedValue[], hash: string, at: Date): void {
    if (refused.length === 0) return;
    const insert = this.sql(
      `INSERT INTO ${this.table} (${this.key}, field_key, detail, hash, at, tried_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET detail = excluded.detail, hash = excluded.hash, tried_at = excluded.tried_at`,
    );
    const when = at.toISOString();
    for (const refusal of refused)
      insert.run(key, refusal.field, refusal.detail.slice(0, 500), hash, when, when);
  }

  /** These items' entities hold every value of the map after all (a deep sync saw it): their refusals end. */
  end(keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.sql(`DELETE FROM ${this.table} WHERE ${this.key} IN (SELECT value FROM json_each(?))`).run(
      JSON.stringify(keys),
    );
  }

  /** The standing refusals of these items: the hash they stand at and their oldest last try. */
  standing(keys: readonly string[]): Map<string, StandingRefusals> {
    const found = new Map<string, StandingRefusals>();
    if (keys.length === 0) return found;
    const rows = this.sql(
      `SELECT ${this.key} AS key, MIN(hash) AS hash, MIN(COALESCE(tried_at, at)) AS tried_at FROM ${this.table}
       WHERE ${this.key} IN (SELECT value FROM json_each(?)) GROUP BY ${this.key}`,
    ).all(JSON.stringify(keys)) as { key: string; hash: string; tried_at: string }[];
    for (const row of rows) found.set(row.key, { hash: row.hash, triedAt: new Date(row.tried_at) });
    return found;
  }

  /** The newest first. */
  list(limit: number): RefusalRow[] {
    return this.newest(
      'field_key AS field, detail, hash, at, COALESCE(tried_at, at) AS triedAt',
      'at',
      limit,
    );
  }
}
