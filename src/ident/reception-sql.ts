import {
  composeQuery,
  type Guess,
  guessesIn,
  lintComposed,
  readSqlFile,
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
}

export const RECEPTION_SQL_FILE_NAMES = {
  receptions: 'receptions.sql',
  selectChanged: 'receptions-select-changed.sql',
  selectWindow: 'receptions-select-window.sql',
  selectOne: 'receptions-select-one.sql',
  sample: 'receptions-sample.sql',
} as const satisfies Record<Exclude<keyof ReceptionSqlFiles, 'dir'>, string>;

const SELECTIONS = ['selectChanged', 'selectWindow', 'selectOne'] as const;

/** Read and checked before anything connects, as the patient SQL is (one SELECT each, nothing written). */
export function loadReceptionSql(dir: string): ReceptionSqlFiles {
  const files = { dir } as ReceptionSqlFiles;
  for (const [key, name] of Object.entries(RECEPTION_SQL_FILE_NAMES))
    files[key as keyof typeof RECEPTION_SQL_FILE_NAMES] = readSqlFile(dir, name);
  for (const key of SELECTIONS)
    lintComposed(
      dir,
      RECEPTION_SQL_FILE_NAMES.receptions,
      RECEPTION_SQL_FILE_NAMES[key],
      composeQuery(files.receptions, files[key], 'ReceptionId'),
    );
  return files;
}

/** The reception query as it runs on this database: guessed columns it lacks run as typed NULLs. */
export interface PreparedReceptionSql {
  receptions: string;
  emptied: Guess[];
}

export const unconfirmedReceptionColumns = (files: ReceptionSqlFiles): TableColumn[] =>
  guessesIn(files.receptions).flatMap((guess) => guess.needs);

export function prepareReceptionSql(
  files: ReceptionSqlFiles,
  present: (column: TableColumn) => boolean,
): PreparedReceptionSql {
  const { sql, emptied } = withFallbacks(files.receptions, present);
  return { receptions: sql, emptied };
}
