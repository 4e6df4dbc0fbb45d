import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  composeQuery,
  type Guess,
  guessesIn,
  lintComposed,
  readSqlFile,
  requirementsOf,
  type TableColumn,
  withFallbacks,
} from './sql-files.ts';

/** The SQL of receptions (SYNC_RECEPTIONS=true), from the same folder as the patient SQL. */
export interface ReceptionSqlFiles {
  dir: string;
  receptions: string;
  selectChanged: string;
  selectWindow: string;
  selectOne: string;
  /** `ident-sync test-db`'s sample: the latest changed receptions' ids. */
  sample: string;
  /**
   * Changed receptions by Receptions.RowVersion, beside `selectChanged`; absent from an SQL_DIR
   * copied from a release before it (then only DateTimeChanged selects).
   */
  selectChangedRowVersion?: string;
}

export const RECEPTION_SQL_FILE_NAMES = {
  receptions: 'receptions.sql',
  selectChanged: 'receptions-select-changed.sql',
  selectWindow: 'receptions-select-window.sql',
  selectOne: 'receptions-select-one.sql',
  sample: 'receptions-sample.sql',
} as const satisfies Record<Exclude<keyof ReceptionSqlFiles, 'dir' | 'selectChangedRowVersion'>, string>;

export const RECEPTION_ROWVERSION_FILE = 'receptions-select-changed-rowversion.sql';

const SELECTIONS = ['selectChanged', 'selectWindow', 'selectOne', 'selectChangedRowVersion'] as const;

/** Read and checked before anything connects, as the patient SQL is (one SELECT each, nothing written). */
export function loadReceptionSql(dir: string): ReceptionSqlFiles {
  const files = { dir } as ReceptionSqlFiles;
  for (const [key, name] of Object.entries(RECEPTION_SQL_FILE_NAMES))
    files[key as keyof typeof RECEPTION_SQL_FILE_NAMES] = readSqlFile(dir, name);
  if (existsSync(join(dir, RECEPTION_ROWVERSION_FILE)))
    files.selectChangedRowVersion = readSqlFile(dir, RECEPTION_ROWVERSION_FILE);
  for (const key of SELECTIONS) {
    const selection = files[key];
    if (selection === undefined) continue;
    lintComposed(
      dir,
      RECEPTION_SQL_FILE_NAMES.receptions,
      key === 'selectChangedRowVersion' ? RECEPTION_ROWVERSION_FILE : RECEPTION_SQL_FILE_NAMES[key],
      composeQuery(files.receptions, selection, 'ReceptionId'),
    );
  }
  return files;
}

/** The reception query as it runs on this database: guessed columns it lacks run as typed NULLs. */
export interface PreparedReceptionSql {
  receptions: string;
  emptied: Guess[];
  /** The rowversion selection, where this database has the columns it requires. */
  rowVersionSelection?: string;
}

export const unconfirmedReceptionColumns = (files: ReceptionSqlFiles): TableColumn[] => [
  ...guessesIn(files.receptions).flatMap((guess) => guess.needs),
  ...(files.selectChangedRowVersion ? requirementsOf(files.selectChangedRowVersion) : []),
];

export function prepareReceptionSql(
  files: ReceptionSqlFiles,
  present: (column: TableColumn) => boolean,
): PreparedReceptionSql {
  const { sql, emptied } = withFallbacks(files.receptions, present);
  const rowVersion = files.selectChangedRowVersion;
  const usable = rowVersion !== undefined && requirementsOf(rowVersion).every((column) => present(column));
  return { receptions: sql, emptied, ...(usable ? { rowVersionSelection: rowVersion } : {}) };
}
