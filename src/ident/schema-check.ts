import { SqlTypes, type SqlConnection } from './pool.ts';
import { referencedColumns } from './sql-analysis.ts';
import { SQL_FILE_NAMES, type SqlFiles } from './sql-files.ts';
import { streamRows } from './stream.ts';

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

/** Every table and column each SQL file uses, by file name. */
export function columnsBySqlFile(files: SqlFiles): Map<string, Map<string, Set<string>>> {
  const result = new Map<string, Map<string, Set<string>>>();
  for (const [key, name] of Object.entries(SQL_FILE_NAMES)) {
    const used = referencedColumns(files[key as keyof typeof SQL_FILE_NAMES]);
    used.delete('ident_sync_selection');
    result.set(name, used);
  }
  return result;
}

/** Compares what the SQL files use with INFORMATION_SCHEMA (tables and views) of the IDENT database. */
export async function checkSchema(connection: SqlConnection, files: SqlFiles): Promise<SchemaReport> {
  const needed = new Map<string, Map<string, Set<string>>>(); // table → column → files
  for (const [file, tables] of columnsBySqlFile(files)) {
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
  const sql = `SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = N'dbo' AND TABLE_NAME IN (${tables
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
