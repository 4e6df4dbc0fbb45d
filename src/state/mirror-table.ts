import type { StatementSync } from 'node:sqlite';

/** How far a mirror of amoCRM entities can be trusted, kept with it in the meta table. */
export interface MirrorState {
  /** When a complete listing last refreshed it (ISO); undefined: never, or its form changed. */
  fullAt: string | undefined;
  /** The newest `updated_at` read so far: incremental refreshes read back to it. */
  watermark: number;
  /** The highest entity id read so far. */
  maxId: number;
  /** The map and time zone the hashes were made with: another form makes them meaningless. */
  form: string | undefined;
  /** Bumped by every complete listing: rows it did not see carry an older one. */
  generation: number;
}

export type MirrorMetaKeys = Record<keyof MirrorState, string>;

export type Sql = (query: string) => StatementSync;
export type Transaction = (work: () => void) => void;

/**
 * What every mirror of an amoCRM entity list has: its state in the meta table, and rows marked
 * with the generation of the complete listing that last saw them. Subclasses keep the rows.
 */
export abstract class MirrorTable {
  protected readonly sql: Sql;
  protected readonly transaction: Transaction;
  protected readonly readOnly: boolean;
  private readonly table: string;
  private readonly idColumn: string;
  private readonly keys: MirrorMetaKeys;

  constructor(
    sql: Sql,
    transaction: Transaction,
    readOnly: boolean,
    layout: { table: string; idColumn: string; keys: MirrorMetaKeys },
  ) {
    this.sql = sql;
    this.transaction = transaction;
    this.readOnly = readOnly;
    this.table = layout.table;
    this.idColumn = layout.idColumn;
    this.keys = layout.keys;
  }

  state(): MirrorState {
    if (this.readOnly && !this.hasTable()) {
      return { fullAt: undefined, watermark: 0, maxId: 0, form: undefined, generation: 0 };
    }
    const meta = (key: string) =>
      (this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    return {
      fullAt: meta(this.keys.fullAt),
      watermark: Number(meta(this.keys.watermark) ?? 0),
      maxId: Number(meta(this.keys.maxId) ?? 0),
      form: meta(this.keys.form),
      generation: Number(meta(this.keys.generation) ?? 0),
    };
  }

  setState(changes: Partial<MirrorState>): void {
    const write = this.sql(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    const remove = this.sql('DELETE FROM meta WHERE key = ?');
    for (const [name, value] of Object.entries(changes)) {
      const key = this.keys[name as keyof MirrorState];
      if (value === undefined) remove.run(key);
      else write.run(key, String(value));
    }
  }

  count(): number {
    if (this.readOnly && !this.hasTable()) return 0;
    return (this.sql(`SELECT COUNT(*) AS n FROM ${this.table}`).get() as { n: number }).n;
  }

  /** Ids of rows a complete listing of this generation did not see, `limit` at a time. */
  unseen(generation: number, limit: number): number[] {
    return (
      this.sql(`SELECT ${this.idColumn} AS id FROM ${this.table} WHERE generation < ? LIMIT ?`).all(
        generation,
        limit,
      ) as { id: number }[]
    ).map((row) => row.id);
  }

  remove(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.transaction(() => {
      const removeRow = this.sql(`DELETE FROM ${this.table} WHERE ${this.idColumn} = ?`);
      for (const id of ids) {
        removeRow.run(id);
        this.removed(id);
      }
    });
  }

  /** Rows of other tables that belong to a removed row. */
  protected removed(_id: number): void {}

  /** Raises the highest id read so far (inside the caller's transaction). */
  protected noteMaxId(ids: Iterable<number>): void {
    let maxId = 0;
    for (const id of ids) maxId = Math.max(maxId, id);
    if (maxId > this.state().maxId) this.setState({ maxId });
  }

  private hasTable(): boolean {
    return (
      this.sql("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?").get(this.table) !==
      undefined
    );
  }
}
