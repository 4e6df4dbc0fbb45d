import { loadDealMapAndSql } from '../../ident/map-check.ts';
import { RECEPTION_SQL_FILE_NAMES } from '../../ident/reception-sql.ts';
import type { Stream } from '../runner/stream.ts';
import { type DealSyncDeps, type DealSyncOptions, DealRun } from './run.ts';

/** IDENT's receptions, as amoCRM deals on their patients' contacts: after the contacts, and only when they succeeded. */
export const dealsStream = {
  name: 'deals',
  sql: RECEPTION_SQL_FILE_NAMES.receptions,
  load: loadDealMapAndSql,
  entity: 'leads',
  key: 'receptionId',
  dependsOn: ['contacts'],
  newRun: (deps: DealSyncDeps, options: DealSyncOptions) => new DealRun(deps, options),
} as const satisfies Stream<ReturnType<typeof loadDealMapAndSql>>;
