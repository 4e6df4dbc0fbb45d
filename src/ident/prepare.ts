import type { Logger } from '../logging/logger.ts';
import { type SqlConnection, SqlTypes } from './pool.ts';
import {
  type PreparedReceptionSql,
  prepareReceptionSql,
  type ReceptionSqlFiles,
  unconfirmedReceptionColumns,
} from './reception-sql.ts';
import {
  type PreparedSql,
  prepareSql,
  type SqlFiles,
  type TableColumn,
  unconfirmedColumns,
} from './sql-files.ts';
import { streamRows } from './stream.ts';

/** Columns of these tables as INFORMATION_SCHEMA lists them: `table.column` (lower case) → data type. */
export async function columnTypes(
  connection: SqlConnection,
  tables: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const unique = [...new Set(tables.map((table) => table.toLowerCase()))];
  if (unique.length === 0) return found;
  const request = connection.request();
  unique.forEach((table, index) => request.input(`t${index}`, SqlTypes.NVarChar, table));
  const sql = `SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS AS c WHERE c.TABLE_SCHEMA = N'dbo' AND c.TABLE_NAME IN (${unique
    .map((_, index) => `@t${index}`)
    .join(', ')})`;
  for await (const row of streamRows(request, sql)) {
    found.set(`${String(row.TABLE_NAME)}.${String(row.COLUMN_NAME)}`.toLowerCase(), String(row.DATA_TYPE));
  }
  return found;
}

export const columnKey = (column: TableColumn) => `${column.table}.${column.column}`.toLowerCase();

/**
 * The SQL as it can run on this database: every unconfirmed column looked up once at start; a
 * guess the database lacks runs as its typed NULL instead of failing every page.
 */
export async function prepareForDatabase(connection: SqlConnection, files: SqlFiles): Promise<PreparedSql> {
  const needed = unconfirmedColumns(files);
  const present = await columnTypes(
    connection,
    needed.map((column) => column.table),
  );
  return prepareSql(files, (column) => present.has(columnKey(column)));
}

/** The reception query as it can run on this database (its guessed columns probed the same way). */
export async function prepareReceptionsForDatabase(
  connection: SqlConnection,
  files: ReceptionSqlFiles,
): Promise<PreparedReceptionSql> {
  const needed = unconfirmedReceptionColumns(files);
  const present = await columnTypes(
    connection,
    needed.map((column) => column.table),
  );
  return prepareReceptionSql(files, (column) => present.has(columnKey(column)));
}

/** One warning naming the fields that stay empty and the selections left out, and how to fix them. */
export function reportPrepared(
  prepared: Pick<PreparedSql, 'emptied'> & Partial<Pick<PreparedSql, 'skipped'>>,
  logger: Logger,
  fieldsOf: (alias: string) => string[],
): void {
  if (prepared.emptied.length > 0) {
    logger.warn(
      {
        missingColumns: prepared.emptied.flatMap((guess) =>
          guess.needs.map((column) => `${column.table}.${column.column}`),
        ),
        emptyFields: [...new Set(prepared.emptied.flatMap((guess) => fieldsOf(guess.alias)))],
      },
      'this IDENT database lacks guessed columns: the fields they feed stay empty; `ident-sync test-db` prints the lines to adapt in the SQL files',
    );
  }
  for (const skipped of prepared.skipped ?? []) {
    logger.info(
      {
        selection: skipped.name,
        missingColumns: skipped.missing.map((column) => `${column.table}.${column.column}`),
      },
      'change selection left out: this database lacks the column it needs',
    );
  }
}
