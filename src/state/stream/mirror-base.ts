import { type Column, type Sql, type StateAccess, type Transaction, upsertSql, valuesOf } from './sql.ts';

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

/** A mirror's meta keys: `prefix` and the state's name, but for the highest id's own key. */
export const mirrorMetaKeys = (prefix: string, maxId: string): MirrorMetaKeys => ({
  fullAt: `${prefix}_full_at`,
  watermark: `${prefix}_watermark`,
  maxId,
  form: `${prefix}_form`,
  generation: `${prefix}_generation`,
});

/** Where a mirror keeps its rows, and how a row is written and read back. */
export interface MirrorLayout<Row> {
  table: string;
  /** amoCRM's id of the entity. */
  id: Column<Row>;
  /** The IDENT key the entity carries (null when it carries none). */
  keyColumn: string;
  /** Where its state is kept in the meta table. */
  keys: MirrorMetaKeys;
  /** Every other column of a row but the generation. */
  columns: readonly Column<Row>[];
  /** What a lookup selects (`*` unless given), and how that reads back. */
  select?: string;
  read: (stored: Record<string, unknown>) => Row;
}

/**
 * A mirror of an amoCRM entity list: rows by id, marked with the generation of the complete listing
 * that last saw them, found by the IDENT key they carry, and its state in the meta table.
 * Subclasses add the lookups and indexes of their own entity.
 */
export abstract class MirrorTable<Row> {
  protected readonly sql: Sql;
  protected readonly transaction: Transaction;
  protected readonly readOnly: boolean;
  private readonly layout: MirrorLayout<Row>;
  private readonly columns: readonly Column<Row, number>[];

  constructor(access: StateAccess, layout: MirrorLayout<Row>) {
    this.sql = access.sql;
    this.transaction = access.transaction;
    this.readOnly = access.readOnly;
    this.layout = layout;
    this.columns = [
      layout.id,
      ...layout.columns,
      { name: 'generation', value: (_, generation) => generation },
    ];
  }

  /** Stores entities as read (one transaction), marked with `generation`. */
  upsert(rows: readonly Row[], generation: number): void {
    if (rows.length === 0) return;
    this.transaction(() => {
      const insert = this.sql(upsertSql(this.layout.table, this.layout.id.name, this.columns));
      for (const row of rows) {
        insert.run(...valuesOf(this.columns, row, generation));
        this.stored(row);
      }
      this.noteMaxId(rows.map((row) => Number(this.layout.id.value(row, generation))));
    });
  }

  get(ids: readonly number[]): Map<number, Row> {
    const found = new Map<number, Row>();
    if (ids.length === 0) return found;
    const { table } = this.layout;
    const idColumn = this.layout.id.name;
    const rows = this.sql(
      `SELECT ${idColumn} AS id_, ${this.layout.select ?? '*'} FROM ${table} WHERE ${idColumn} IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(ids));
    for (const { id_, ...row } of rows) found.set(Number(id_), this.layout.read(row));
    return found;
  }

  /**
   * What the sync just wrote, merged with what the mirror held (one transaction): until the next
   * refresh reads amoCRM's own copy, the mirror holds what was sent.
   */
  protected rewrite<Written>(
    written: readonly Written[],
    idOf: (entry: Written) => number,
    merge: (entry: Written, before: Row | undefined) => Row,
  ): void {
    if (written.length === 0) return;
    const current = this.get(written.map(idOf));
    this.upsert(
      written.map((entry) => merge(entry, current.get(idOf(entry)))),
      this.state().generation,
    );
  }

  /** An entity about to be taken over carries this IDENT key from now on: no other item takes it. */
  claim(id: number, key: string): void {
    const { table, keyColumn } = this.layout;
    const idColumn = this.layout.id.name;
    this.sql(`UPDATE ${table} SET ${keyColumn} = ? WHERE ${idColumn} = ?`).run(key, id);
    this.dropIndexes(id);
  }

  /** IDENT keys the mirror holds with their entities, oldest first; `shared`: only those carried by more than one. */
  protected keyGroups(shared: boolean): Iterable<{ key: string; ids: number[] }> {
    const { table, keyColumn } = this.layout;
    const idColumn = this.layout.id.name;
    const rows = this.sql(
      `SELECT ${keyColumn} AS key, group_concat(${idColumn}) AS ids FROM ${table} WHERE ${keyColumn} IS NOT NULL
       GROUP BY ${keyColumn}${shared ? ' HAVING count(*) > 1' : ''}`,
    ).iterate() as Iterable<{ key: string; ids: string }>;
    return (function* () {
      for (const row of rows)
        yield {
          key: row.key,
          ids: row.ids
            .split(',')
            .map(Number)
            .sort((a, b) => a - b),
        };
    })();
  }

  /** Rows of other tables that a stored row keeps (inside the upsert's transaction). */
  protected stored(_row: Row): void {}

  /** What other tables index of a row ends: it is gone, or carries an IDENT key now (claimed). */
  protected dropIndexes(_id: number): void {}

  state(): MirrorState {
    if (this.readOnly && !this.hasTable()) {
      return { fullAt: undefined, watermark: 0, maxId: 0, form: undefined, generation: 0 };
    }
    const meta = (key: string) =>
      (this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    return {
      fullAt: meta(this.layout.keys.fullAt),
      watermark: Number(meta(this.layout.keys.watermark) ?? 0),
      maxId: Number(meta(this.layout.keys.maxId) ?? 0),
      form: meta(this.layout.keys.form),
      generation: Number(meta(this.layout.keys.generation) ?? 0),
    };
  }

  setState(changes: Partial<MirrorState>): void {
    const write = this.sql(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    const remove = this.sql('DELETE FROM meta WHERE key = ?');
    for (const [name, value] of Object.entries(changes)) {
      const key = this.layout.keys[name as keyof MirrorState];
      if (value === undefined) remove.run(key);
      else write.run(key, String(value));
    }
  }

  count(): number {
    if (this.readOnly && !this.hasTable()) return 0;
    return (this.sql(`SELECT COUNT(*) AS n FROM ${this.layout.table}`).get() as { n: number }).n;
  }

  /** Ids of rows a complete listing of this generation did not see, `limit` at a time. */
  unseen(generation: number, limit: number): number[] {
    return (
      this.sql(
        `SELECT ${this.layout.id.name} AS id FROM ${this.layout.table} WHERE generation < ? LIMIT ?`,
      ).all(generation, limit) as { id: number }[]
    ).map((row) => row.id);
  }

  remove(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.transaction(() => {
      const removeRow = this.sql(`DELETE FROM ${this.layout.table} WHERE ${this.layout.id.name} = ?`);
      for (const id of ids) {
        removeRow.run(id);
        this.dropIndexes(id);
      }
    });
  }

  /** Raises the highest id read so far (inside the caller's transaction). */
  protected noteMaxId(ids: Iterable<number>): void {
    let maxId = 0;
    for (const id of ids) maxId = Math.max(maxId, id);
    if (maxId > this.state().maxId) this.setState({ maxId });
  }

  private hasTable(): boolean {
    return (
      this.sql("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?").get(
        this.layout.table,
      ) !== undefined
    );
  }
}

/** What a listing refresh needs of a mirror, whatever its entity. */
export type ListedMirror = Pick<MirrorTable<unknown>, 'state' | 'setState' | 'unseen' | 'remove'>;
