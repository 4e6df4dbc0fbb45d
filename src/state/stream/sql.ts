import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

/** A prepared (and cached) statement of the state database. */
export type Sql = (query: string) => StatementSync;
/** Statements of this database, each prepared once. */
export function preparedOnce(db: DatabaseSync): Sql {
  const statements = new Map<string, StatementSync>();
  return (query) => {
    let statement = statements.get(query);
    if (!statement) {
      statement = db.prepare(query);
      statements.set(query, statement);
    }
    return statement;
  };
}

/** One transaction of the state database: the work commits whole or not at all. */
export type Transaction = (work: () => void) => void;

/** How a part of the state reaches the database. */
export interface StateAccess {
  sql: Sql;
  transaction: Transaction;
  /** `status` reads a state folder without upgrading it: a table of a later release may be missing. */
  readOnly: boolean;
}

/** How a table's column is written from a row the code holds (`context`: what the whole write shares). */
export interface Column<Row, Context = unknown> {
  name: string;
  value: (row: Row, context: Context) => SQLInputValue;
}

/**
 * An insert of `key` and `columns` that updates the existing row on a conflict over the key; `set`
 * replaces the plain `column = excluded.column` of the columns it names and adds the others.
 */
export function upsertSql<Row, Context>(
  table: string,
  key: string,
  columns: readonly Column<Row, Context>[],
  set: Readonly<Record<string, string>> = {},
): string {
  const names = columns.map((column) => column.name);
  const assignments = names
    .filter((name) => name !== key)
    .map((name) => `${name} = ${set[name] ?? `excluded.${name}`}`);
  for (const [name, value] of Object.entries(set))
    if (!names.includes(name)) assignments.push(`${name} = ${value}`);
  return `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})
     ON CONFLICT (${key}) DO UPDATE SET ${assignments.join(', ')}`;
}

export const valuesOf = <Row, Context>(
  columns: readonly Column<Row, Context>[],
  row: Row,
  context: Context,
): SQLInputValue[] => columns.map((column) => column.value(row, context));

/** Whether a table exists: a state folder of an older release, opened read-only by `status`, may lack it. */
export const tableExists = (sql: Sql, table: string): boolean =>
  sql("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;

/** Columns added after a table's first release, added in place so an existing state folder carries on. */
export function addMissingColumns(
  sql: Sql,
  exec: (script: string) => void,
  table: string,
  added: readonly { column: string; definition: string; fill?: string }[],
): void {
  const existing = new Set(
    (sql(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name),
  );
  for (const { column, definition, fill } of added) {
    if (existing.has(column)) continue;
    exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    if (fill) exec(fill);
  }
}

export const readMeta = (sql: Sql, key: string): string | undefined =>
  (sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;

/** `undefined` removes the key. */
export function writeMeta(sql: Sql, key: string, value: string | undefined): void {
  if (value === undefined) sql('DELETE FROM meta WHERE key = ?').run(key);
  else
    sql(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
}

/** Comma-joined lists as the state keeps phones and e-mails. */
export const listOf = (text: string): string[] => (text === '' ? [] : text.split(','));
export const textOf = (values: readonly string[]): string => values.join(',');
