import { KeyedTable } from './keyed-table.ts';

export interface FailureRow {
  key: string;
  reason: string;
  attempts: number;
  firstAt: string;
  lastAt: string;
  dueAt: string;
}

/** Minutes before a failed item is tried again: 2, 4, 8… and at most six hours. */
export const retryDelayMinutes = (attempts: number) => Math.min(360, 2 ** attempts);

/**
 * Items (patients, receptions) that did not sync, with the reason and when to try again: after
 * 2^attempts minutes, at most six hours apart, so an item that can never sync costs a few reads a
 * day, not one every run. The callers wrap writes in their transactions.
 */
export class FailureTable extends KeyedTable {
  /** `dueNow`: tried again in this run (a create amoCRM proved never landed), not after a back-off. */
  record(entries: readonly { key: string; reason: string; dueNow?: boolean }[], at: Date): void {
    const upsert = this.sql(
      `INSERT INTO ${this.table} (${this.key}, reason, attempts, first_at, last_at, due_at) VALUES (?, ?, 1, ?, ?, ?)
       ON CONFLICT (${this.key}) DO UPDATE SET reason = excluded.reason, attempts = attempts + 1,
         last_at = excluded.last_at, due_at = excluded.due_at`,
    );
    const attemptsOf = this.sql(`SELECT attempts FROM ${this.table} WHERE ${this.key} = ?`);
    const when = at.toISOString();
    for (const entry of entries) {
      const attempts = ((attemptsOf.get(entry.key) as { attempts: number } | undefined)?.attempts ?? 0) + 1;
      const due = entry.dueNow
        ? when
        : new Date(at.getTime() + retryDelayMinutes(attempts) * 60_000).toISOString();
      upsert.run(entry.key, entry.reason.slice(0, 1000), when, when, due);
    }
  }

  /** Due at once, attempts unchanged: the item is matched again (its amoCRM entity is gone). */
  dueNow(key: string, reason: string, at: Date): void {
    this.sql(
      `INSERT INTO ${this.table} (${this.key}, reason, attempts, first_at, last_at, due_at) VALUES (?, ?, 0, ?, ?, ?)
       ON CONFLICT (${this.key}) DO UPDATE SET reason = excluded.reason, last_at = excluded.last_at, due_at = excluded.due_at`,
    ).run(key, reason, at.toISOString(), at.toISOString(), at.toISOString());
  }

  /** Every open failure is due now (the back-off is skipped once); how many there were. */
  retryAll(at: Date): number {
    return Number(this.sql(`UPDATE ${this.table} SET due_at = ?`).run(at.toISOString()).changes);
  }

  due(now: Date, limit: number): string[] {
    return (
      this.sql(`SELECT ${this.key} AS key FROM ${this.table} WHERE due_at <= ? ORDER BY due_at LIMIT ?`).all(
        now.toISOString(),
        limit,
      ) as { key: string }[]
    ).map((row) => row.key);
  }

  among(keys: readonly string[]): Set<string> {
    if (keys.length === 0) return new Set();
    const rows = this.sql(
      `SELECT ${this.key} AS key FROM ${this.table} WHERE ${this.key} IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(keys)) as { key: string }[];
    return new Set(rows.map((row) => row.key));
  }

  list(limit: number): FailureRow[] {
    const columns =
      'reason, attempts, first_at AS firstAt, last_at AS lastAt, COALESCE(due_at, last_at) AS dueAt';
    return this.newest(columns, 'last_at', limit);
  }
}
