import { join } from 'node:path';
import { DEFAULT_SQL_DIR } from '../config/config.ts';
import { ActionableError } from '../errors.ts';
import { BoundedFileError, readBoundedFile } from '../support/bounded-file.ts';
import { lintDaemonSql, readOnlyProblems, stripComments } from './sql-analysis.ts';

/** The SQL the daemon runs, read from files an integrator can edit (sql/ by default). */
export interface SqlFiles {
  dir: string;
  patients: string;
  selectChanged: string;
  selectActivity: string;
  selectChangedPersons: string;
  selectChangedPersonsRowVersion: string;
  selectAll: string;
  selectOne: string;
  clock: string;
  stats: string;
  sample: string;
}

export const SQL_FILE_NAMES = {
  patients: 'patients.sql',
  selectChanged: 'select-changed.sql',
  selectActivity: 'select-activity.sql',
  selectChangedPersons: 'select-changed-persons.sql',
  selectChangedPersonsRowVersion: 'select-changed-persons-rowversion.sql',
  selectAll: 'select-all.sql',
  selectOne: 'select-one.sql',
  clock: 'clock.sql',
  stats: 'stats.sql',
  sample: 'sample.sql',
} as const satisfies Record<Exclude<keyof SqlFiles, 'dir'>, string>;

/** The selections whose ids make up an incremental run, in the order they are united. */
export const CHANGE_SELECTIONS = [
  'selectChanged',
  'selectActivity',
  'selectChangedPersons',
  'selectChangedPersonsRowVersion',
] as const satisfies readonly (keyof SqlFiles)[];

class SqlFileError extends ActionableError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = 'SqlFileError';
  }
}

/**
 * Reads every SQL file and checks it before anything connects: each must be one SELECT (or
 * WITH … SELECT) that parses as T-SQL for SQL Server 2012+ and writes nothing. A file that would
 * write, run a procedure or hold a second statement stops every command with exit code 2, naming
 * the file and the line — even `--dry-run` never sends it.
 */
export function loadSqlFiles(dir = DEFAULT_SQL_DIR): SqlFiles {
  const read = (name: string) => readSqlFile(dir, name);
  const files = { dir } as SqlFiles;
  for (const [key, name] of Object.entries(SQL_FILE_NAMES))
    files[key as keyof typeof SQL_FILE_NAMES] = read(name);
  // The queries as they are sent must parse too (a selection's trailing comment or semicolon, say).
  for (const key of [...CHANGE_SELECTIONS, 'selectAll', 'selectOne'] as const)
    lintComposed(
      dir,
      SQL_FILE_NAMES.patients,
      SQL_FILE_NAMES[key],
      composePatientQuery(files.patients, files[key]),
    );
  // A guess's fallback (from its comment) replaces its line on a database that lacks the column:
  // the query with every fallback in place is checked too.
  lintComposed(
    dir,
    SQL_FILE_NAMES.patients,
    `${SQL_FILE_NAMES.selectAll} with every unconfirmed column's fallback`,
    composePatientQuery(withFallbacks(files.patients, () => false).sql, files.selectAll),
  );
  return files;
}

/** A query is a page of SQL: anything far larger is not one of ours. */
const MAX_SQL_BYTES = 1_000_000;

/** One SQL file of `dir`, checked: one SELECT that parses as T-SQL and writes nothing. */
export function readSqlFile(dir: string, name: string): string {
  const path = join(dir, name);
  let text: string;
  try {
    text = readBoundedFile(path, MAX_SQL_BYTES, '1 MB').toString('utf8');
  } catch (error) {
    if (!(error instanceof BoundedFileError)) throw error;
    throw new SqlFileError(
      `cannot read ${path} (${error.message}); set SQL_DIR to the folder of the SQL files`,
    );
  }
  const problem = lintDaemonSql(text)[0];
  if (problem) {
    throw new SqlFileError(
      `${path}${problem.line ? ` line ${problem.line}` : ''}: ${problem.message}; ident-sync only reads the IDENT database — fix the file or restore it from the release`,
    );
  }
  return text;
}

const checkedForServer = new Map<string, string | undefined>();

/**
 * The one gate every query built from the SQL files passes on its way to the IDENT database: the
 * exact text sent is the text judged (one SELECT, nothing written), whatever composed it.
 */
export function readOnlyForServer(sql: string): string {
  let problem = checkedForServer.get(sql);
  if (!checkedForServer.has(sql)) {
    const found = readOnlyProblems(sql)[0];
    problem = found && `${found.line ? `line ${found.line}: ` : ''}${found.message}`;
    // Texts repeat (a page size, a selection): a few hundred distinct ones at most.
    if (checkedForServer.size >= 1000) checkedForServer.clear();
    checkedForServer.set(sql, problem);
  }
  if (problem)
    throw new SqlFileError(
      `a query built from SQL_DIR was not sent to IDENT (${problem}); fix the SQL files or restore them from the release`,
    );
  return sql;
}

/** A query over a selection, as it is sent: it must parse too. */
export function lintComposed(dir: string, query: string, selection: string, composed: string): void {
  const problem = lintDaemonSql(composed)[0];
  if (problem)
    throw new SqlFileError(`${join(dir, query)} with ${selection}: ${problem.message}; check both files`);
}

/** A statement without comments and its trailing semicolon, so it can be nested. */
export const bare = (sql: string) => stripComments(sql).trim().replace(/;\s*$/, '').trim();

/** The column a selection yields: patient ids for the patient query, reception ids for the reception query. */
export type SelectionKey = 'PatientId' | 'ReceptionId';

/** The patient query over a selection of patient ids (one column, PatientId). */
export const composePatientQuery = (patients: string, selection: string): string =>
  composeQuery(patients, selection, 'PatientId');

/** A query over a selection of ids (one column named `key`). */
export function composeQuery(query: string, selection: string, key: SelectionKey): string {
  return `WITH ident_sync_selection (${key}) AS (\n${bare(selection)}\n)\n${bare(query)};`;
}

/** The ids every selection finds, once each, in id order. */
export function composeIdQuery(selections: readonly string[], key: SelectionKey = 'PatientId'): string {
  return `SELECT sel.${key} FROM (\n${selections.map(bare).join('\nUNION\n')}\n) AS sel (${key})\nORDER BY sel.${key};`;
}

/** A selection of `count` given ids (parameters @id0…), for a page of an incremental run. */
export function idsSelection(count: number, key: SelectionKey = 'PatientId'): string {
  const rows = Array.from({ length: count }, (_, index) => `(@id${index})`).join(', ');
  return `SELECT v.${key} FROM (VALUES ${rows}) AS v (${key})`;
}

// ── columns nobody has confirmed ─────────────────────────────────────────────────────────────
export interface TableColumn {
  table: string;
  column: string;
}

/** A select-list line that uses guessed columns, and what runs instead where they are missing. */
export interface Guess {
  /** 1-based line in patients.sql. */
  line: number;
  alias: string;
  needs: TableColumn[];
  replacement: string;
  /** The line as it runs when the columns are missing: ready to paste into patients.sql. */
  fallbackLine: string;
}

const GUESS_LINE = /^(\s*)(.+?)\s+AS\s+(\w+)(\s*,?)\s*--\s*unconfirmed:\s*(.+?)\s*→\s*(.+?)\s*$/i;
const REQUIRES_LINE = /^\s*--\s*requires:\s*(.+?)\s*$/im;

const columnsOf = (list: string): TableColumn[] =>
  list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [table, column] = entry.split('.') as [string, string];
      return { table, column };
    });

export function guessesIn(sql: string): Guess[] {
  const guesses: Guess[] = [];
  sql.split('\n').forEach((text, index) => {
    const match = GUESS_LINE.exec(text);
    if (!match) return;
    const [, indent, , alias, comma, needs, replacement] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    guesses.push({
      line: index + 1,
      alias,
      needs: columnsOf(needs),
      replacement,
      fallbackLine: `${indent}${replacement} AS ${alias}${comma.trim()}`,
    });
  });
  return guesses;
}

/** Columns a whole selection file needs (`-- requires: Table.Column`); none for most. */
export function requirementsOf(sql: string): TableColumn[] {
  const match = REQUIRES_LINE.exec(sql);
  return match ? columnsOf(match[1]!) : [];
}

/** Every table.column the annotations name: what to look up in INFORMATION_SCHEMA at start. */
export function unconfirmedColumns(files: SqlFiles): TableColumn[] {
  return [
    ...guessesIn(files.patients).flatMap((guess) => guess.needs),
    ...CHANGE_SELECTIONS.flatMap((key) => requirementsOf(files[key])),
  ];
}

/** The SQL as it runs on this database: guesses it lacks replaced, selections it cannot run left out. */
export interface PreparedSql {
  patients: string;
  /** Guesses replaced by their fallback (the fields they feed stay empty). */
  emptied: Guess[];
  /** The change selections in effect, by file name. */
  changeSelections: { name: string; sql: string }[];
  /** Selections left out, with the columns they lack. */
  skipped: { name: string; missing: TableColumn[] }[];
  /** Whether a selection in effect uses @sinceRowVersion. */
  usesRowVersion: boolean;
}

/** A query with the guesses this database lacks replaced by their fallbacks. */
export function withFallbacks(
  query: string,
  present: (column: TableColumn) => boolean,
): { sql: string; emptied: Guess[] } {
  const emptied = guessesIn(query).filter((guess) => guess.needs.some((column) => !present(column)));
  const lines = query.split('\n');
  for (const guess of emptied) lines[guess.line - 1] = guess.fallbackLine;
  return { sql: lines.join('\n'), emptied };
}

export function prepareSql(files: SqlFiles, present: (column: TableColumn) => boolean): PreparedSql {
  const { sql: patients, emptied } = withFallbacks(files.patients, present);
  const changeSelections: PreparedSql['changeSelections'] = [];
  const skipped: PreparedSql['skipped'] = [];
  for (const key of CHANGE_SELECTIONS) {
    const missing = requirementsOf(files[key]).filter((column) => !present(column));
    if (missing.length > 0) skipped.push({ name: SQL_FILE_NAMES[key], missing });
    else changeSelections.push({ name: SQL_FILE_NAMES[key], sql: files[key] });
  }
  return {
    patients,
    emptied,
    changeSelections,
    skipped,
    usesRowVersion: changeSelections.some((selection) =>
      /@sinceRowVersion\b/i.test(stripComments(selection.sql)),
    ),
  };
}

/** Every guess assumed present: the SQL as written (tests, and mapping rows without a database). */
export const asWritten = (files: SqlFiles): PreparedSql => prepareSql(files, () => true);
