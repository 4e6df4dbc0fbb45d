import type { Sql } from './mirror-table.ts';

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
export class FailureTable {
  private readonly sql: Sql;
  private readonly table: string;
  private readonly key: string;

  constructor(sql: Sql, table: string, key: string) {
    this.sql = sql;
    this.table = table;
    this.key = key;
  }

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

  clear(keys: readonly string[]): void {
    const clear = this.sql(`DELETE FROM ${this.table} WHERE ${this.key} = ?`);
    for (const key of keys) clear.run(key);
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
    return (
      this.sql(`SELECT * FROM ${this.table} ORDER BY last_at DESC LIMIT ?`).all(limit) as Record<
        string,
        unknown
      >[]
    ).map((row) => ({
      key: String(row[this.key]),
      reason: String(row.reason),
      attempts: Number(row.attempts),
      firstAt: String(row.first_at),
      lastAt: String(row.last_at),
      dueAt: String(row.due_at ?? row.last_at),
    }));
  }

  count(): number {
    return (this.sql(`SELECT COUNT(*) AS n FROM ${this.table}`).get() as { n: number }).n;
  }
}
