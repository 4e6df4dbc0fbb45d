import { zoneMismatch } from '../amocrm/account-zone.ts';
import { type AmoClient, createAmoClient } from '../amocrm/client.ts';
import type { Config } from '../config/config.ts';
import { ActionableError } from '../errors.ts';
import { type PatientSource, SqlPatientSource } from '../ident/patient-source.ts';
import { connectIdent } from '../ident/pool.ts';
import { classifyDbError } from '../ident/errors.ts';
import { loadMapAndSql } from '../ident/map-check.ts';
import { prepareForDatabase, reportPrepared } from '../ident/prepare.ts';
import type { SqlFiles } from '../ident/sql-files.ts';
import type { Logger } from '../logging/logger.ts';
import { FieldsNotReadyError, type ResolvedMap, resolveFields } from '../mapping/catalogue.ts';
import type { ContactMap } from '../mapping/schema.ts';
import { createMapper, type Mapper } from '../mapping/mapper.ts';
import { StateStore } from '../state/store.ts';
import { type SyncOptions, SyncRun } from './run.ts';

/** Everything a sync needs, opened from the configuration. */
export interface SyncContext {
  client: AmoClient;
  source: PatientSource;
  resolved: ResolvedMap;
  mapper: Mapper;
  store: StateStore;
  newRun(options?: Partial<SyncOptions>): SyncRun;
  close(): Promise<void>;
}

export class FieldsSetupError extends ActionableError {
  constructor(cause: FieldsNotReadyError) {
    super(`${cause.message}, and \`ident-sync fields --create\` creates what is missing`, {
      exitCode: 2,
      cause,
    });
    this.name = 'FieldsSetupError';
  }
}

/** amoCRM's field ids for the map: read at start, so a renamed or missing field stops us before any write. */
export async function resolveMapAgainstAccount(map: ContactMap, client: AmoClient): Promise<ResolvedMap> {
  try {
    return resolveFields(map, await client.fields.list());
  } catch (error) {
    if (error instanceof FieldsNotReadyError) throw new FieldsSetupError(error);
    throw error;
  }
}

/** A sync run over these parts, with the configuration's settings unless `options` say otherwise. */
export function syncRunFor(
  parts: Pick<SyncContext, 'client' | 'source' | 'resolved' | 'mapper' | 'store'> & {
    logger: Logger;
    timeZone: string;
  },
  options: SyncOptions,
): SyncRun {
  const { client, source, resolved, mapper, store, logger, timeZone } = parts;
  return new SyncRun(
    {
      source,
      mapper,
      resolved,
      timeZone,
      contacts: client.contacts,
      store,
      logger,
      requestCount: () => client.http.stats.requests,
    },
    options,
  );
}

/** IDENT with the SQL fitted to this database (guessed columns it lacks run as typed NULLs). */
async function openIdent(
  config: Config,
  files: SqlFiles,
  map: ContactMap,
  logger: Logger,
): Promise<PatientSource> {
  const connection = await connectIdent(config.database!);
  try {
    const prepared = await prepareForDatabase(connection, files);
    reportPrepared(prepared, logger, (alias) =>
      map.fields.filter((field) => field.source === alias).map((field) => field.name),
    );
    return new SqlPatientSource(connection, files, prepared, config.database!);
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw classifyDbError(error, config.database!);
  }
}

export async function openSyncContext(
  config: Config,
  logger: Logger,
  parts: { client?: AmoClient; source?: PatientSource; store?: StateStore } = {},
): Promise<SyncContext> {
  // A run's scratch file goes to the state folder, writable by contract even in a read-only
  // container, unless the operator chose a place for SQLite's temporary files.
  process.env.SQLITE_TMPDIR ??= config.stateDir;
  // The SQL and the map are checked before anything connects: a write in SQL_DIR is never sent.
  const { map, files } = loadMapAndSql(config);
  const client = parts.client ?? createAmoClient(config.amocrm, config.stateDir, logger);
  const resolved = await resolveMapAgainstAccount(map, client);
  const zoneWarning = zoneMismatch((await client.account()).timeZone, config.sync.timeZone);
  if (zoneWarning) logger.warn(zoneWarning);
  const mapper = createMapper(resolved, { timeZone: config.sync.timeZone });
  const source = parts.source ?? (await openIdent(config, files, map, logger));
  const store = parts.store ?? new StateStore(config.stateDir);
  return {
    client,
    source,
    resolved,
    mapper,
    store,
    newRun(options = {}) {
      return syncRunFor(
        { client, source, resolved, mapper, store, logger, timeZone: config.sync.timeZone },
        {
          batchSize: config.amocrm.batchSize,
          matchByPhone: config.sync.matchByPhone,
          overlapSeconds: config.sync.overlapSeconds,
          ...options,
        },
      );
    },
    async close() {
      await source.close().catch(() => undefined);
      store.close();
    },
  };
}
