import { type Sql, type StateAccess, tableExists } from './sql.ts';

/** A table of a stream's items (patients, receptions), one or more rows per item's key. */
export abstract class KeyedTable {
  protected readonly sql: Sql;
  protected readonly table: string;
  protected readonly key: string;
  private readonly readOnly: boolean;

  constructor(access: Pick<StateAccess, 'sql' | 'readOnly'>, layout: { table: string; key: string }) {
    this.sql = access.sql;
    this.readOnly = access.readOnly;
    this.table = layout.table;
    this.key = layout.key;
  }

  count(): number {
    if (this.missing()) return 0;
    return (this.sql(`SELECT COUNT(*) AS n FROM ${this.table}`).get() as { n: number }).n;
  }

  /** These items' rows end (inside the caller's transaction). */
  clear(keys: readonly string[]): void {
    const clear = this.sql(`DELETE FROM ${this.table} WHERE ${this.key} = ?`);
    for (const key of keys) clear.run(key);
  }

  /** The newest rows by `order`, as `select` names their columns (the key as `key`). */
  protected newest<Row>(select: string, order: string, limit: number): Row[] {
    if (this.missing()) return [];
    const query = `SELECT ${this.key} AS key, ${select} FROM ${this.table} ORDER BY ${order} DESC LIMIT ?`;
    return this.sql(query)
      .all(limit)
      .map((row) => ({ ...row }) as Row);
  }

  /** A read-only state folder written before this table existed. */
  protected missing(): boolean {
    return this.readOnly && !tableExists(this.sql, this.table);
  }
}
