import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionableError } from '../errors.ts';
import { DEFAULT_SQL_DIR } from '../config/config.ts';

/** The SQL the daemon runs, read from files an integrator can edit (sql/ by default). */
export interface SqlFiles {
  dir: string;
  patients: string;
  selectChanged: string;
  selectActivity: string;
  selectAll: string;
  selectOne: string;
  clock: string;
  stats: string;
}

export const SQL_FILE_NAMES = {
  patients: 'patients.sql',
  selectChanged: 'select-changed.sql',
  selectActivity: 'select-activity.sql',
  selectAll: 'select-all.sql',
  selectOne: 'select-one.sql',
  clock: 'clock.sql',
  stats: 'stats.sql',
} as const;

export function loadSqlFiles(dir = DEFAULT_SQL_DIR): SqlFiles {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      throw new ActionableError(
        `cannot read ${join(dir, name)}; set SQL_DIR to the folder of the SQL files`,
        { exitCode: 2 },
      );
    }
  };
  return {
    dir,
    patients: read(SQL_FILE_NAMES.patients),
    selectChanged: read(SQL_FILE_NAMES.selectChanged),
    selectActivity: read(SQL_FILE_NAMES.selectActivity),
    selectAll: read(SQL_FILE_NAMES.selectAll),
    selectOne: read(SQL_FILE_NAMES.selectOne),
    clock: read(SQL_FILE_NAMES.clock),
    stats: read(SQL_FILE_NAMES.stats),
  };
}

/** A statement without its trailing semicolon, so it can be nested. */
const bare = (sql: string) => sql.trim().replace(/;\s*$/, '');

/** The patient query over one or more selections (their ids are united). */
export function composePatientQuery(files: SqlFiles, selections: readonly string[]): string {
  const union = selections.map((selection) => bare(selection)).join('\nUNION\n');
  return `WITH ident_sync_selection AS (\n${union}\n)\n${bare(files.patients)};`;
}
