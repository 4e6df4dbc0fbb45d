import { loadMapAndSql } from '../../ident/map-check.ts';
import { SQL_FILE_NAMES } from '../../ident/sql-files.ts';
import type { Stream } from '../runner/stream.ts';
import { type SyncDeps, type SyncOptions, SyncRun } from './run.ts';

/** IDENT's patients, as amoCRM contacts: the first stream, on which the others build. */
export const contactsStream = {
  name: 'contacts',
  sql: SQL_FILE_NAMES.patients,
  load: loadMapAndSql,
  entity: 'contacts',
  key: 'patientId',
  dependsOn: [],
  newRun: (deps: SyncDeps, options: SyncOptions) => new SyncRun(deps, options),
} as const satisfies Stream<ReturnType<typeof loadMapAndSql>>;
