import { type SqlConnection, SqlTypes } from './pool.ts';
import { referencedColumns } from './sql-analysis.ts';
import type { PreparedSql, SqlFiles } from './sql-files.ts';
import { streamRows } from './stream.ts';

/** The queries as they run on this database, by file: patients (guesses fitted), the selections in effect. */
export function queriesInEffect(files: SqlFiles, prepared: PreparedSql): Record<string, string> {
  return {
    'patients.sql': prepared.patients,
    ...Object.fromEntries(prepared.changeSelections.map((selection) => [selection.name, selection.sql])),
    'select-all.sql': files.selectAll,
    'select-one.sql': files.selectOne,
    'stats.sql': files.stats,
    'sample.sql': files.sample,
  };
}

export interface MissingPiece {
  table: string;
  /** Undefined when the whole table (or view) is missing. */
  column: string | undefined;
  files: string[];
}

export interface SchemaReport {
  tables: number;
  columns: number;
  missing: MissingPiece[];
}

/** Every table and column each query uses, by the file it comes from. */
export function columnsByFile(
  queries: Readonly<Record<string, string>>,
): Map<string, Map<string, Set<string>>> {
  const result = new Map<string, Map<string, Set<string>>>();
  for (const [file, sql] of Object.entries(queries)) {
    const used = referencedColumns(sql);
    used.delete('ident_sync_selection');
    result.set(file, used);
  }
  return result;
}

/** Compares what the queries use with INFORMATION_SCHEMA (tables and views) of the IDENT database. */
export async function checkSchema(
  connection: SqlConnection,
  queries: Readonly<Record<string, string>>,
): Promise<SchemaReport> {
  const needed = new Map<string, Map<string, Set<string>>>(); // table → column → files
  for (const [file, tables] of columnsByFile(queries)) {
    for (const [table, columns] of tables) {
      const byColumn = needed.get(table) ?? new Map<string, Set<string>>();
      needed.set(table, byColumn);
      byColumn.set('', new Set([...(byColumn.get('') ?? []), file]));
      for (const column of columns) byColumn.set(column, new Set([...(byColumn.get(column) ?? []), file]));
    }
  }
  const tables = [...needed.keys()];
  const request = connection.request();
  tables.forEach((table, index) => request.input(`t${index}`, SqlTypes.NVarChar, table));
  const present = new Map<string, Set<string>>();
  const sql = `SELECT c.TABLE_NAME, c.COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS AS c WHERE c.TABLE_SCHEMA = N'dbo' AND c.TABLE_NAME IN (${tables
    .map((_, index) => `@t${index}`)
    .join(', ')})`;
  for await (const row of streamRows(request, sql)) {
    const table = String(row.TABLE_NAME).toLowerCase();
    present.set(table, (present.get(table) ?? new Set()).add(String(row.COLUMN_NAME).toLowerCase()));
  }
  const missing: MissingPiece[] = [];
  let columns = 0;
  for (const [table, byColumn] of needed) {
    const found = present.get(table.toLowerCase());
    if (!found) {
      missing.push({ table, column: undefined, files: [...byColumn.get('')!] });
      columns += byColumn.size - 1;
      continue;
    }
    for (const [column, users] of byColumn) {
      if (column === '') continue;
      columns += 1;
      if (!found.has(column.toLowerCase())) missing.push({ table, column, files: [...users] });
    }
  }
  return { tables: tables.length, columns, missing };
}

/** The columns the queries filter and join on: foreign keys (ID_…), change stamps, and `also`. */
export function filteredColumns(
  queries: Readonly<Record<string, string>>,
  also: RegExp = /(?!)/,
): { table: string; column: string }[] {
  const seen = new Map<string, { table: string; column: string }>();
  for (const tables of columnsByFile(queries).values()) {
    for (const [table, columns] of tables) {
      for (const column of columns) {
        if (/^ID_|^DateTimeChanged$|^RowVersion$/i.test(column) || also.test(column))
          seen.set(`${table}.${column}`.toLowerCase(), { table, column });
      }
    }
  }
  return [...seen.values()];
}

/** For each column, the indexes that lead with it (`sys.indexes`): none means every read of it scans. */
export async function leadingIndexes(
  connection: SqlConnection,
  columns: readonly { table: string; column: string }[],
): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const tables = [...new Set(columns.map((column) => column.table))];
  if (tables.length === 0) return found;
  const request = connection.request();
  tables.forEach((table, index) => request.input(`t${index}`, SqlTypes.NVarChar, table));
  const sql = `SELECT t.name AS TableName, c.name AS ColumnName, i.name AS IndexName
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
JOIN sys.tables AS t ON t.object_id = i.object_id
WHERE ic.key_ordinal = 1 AND SCHEMA_NAME(t.schema_id) = N'dbo' AND t.name IN (${tables.map((_, index) => `@t${index}`).join(', ')})`;
  for await (const row of streamRows(request, sql)) {
    const key = `${String(row.TableName)}.${String(row.ColumnName)}`.toLowerCase();
    found.set(key, [...(found.get(key) ?? []), String(row.IndexName ?? 'clustered')]);
  }
  return found;
}
