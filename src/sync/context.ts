import { zoneMismatch } from '../amocrm/account-zone.ts';
import { type AmoClient, createAmoClient } from '../amocrm/client.ts';
import type { Config } from '../config/config.ts';
import { ActionableError } from '../errors.ts';
import { type PatientSource, SqlPatientSource } from '../ident/patient-source.ts';
import { connectIdent } from '../ident/pool.ts';
import { loadSqlFiles } from '../ident/sql-files.ts';
import type { Logger } from '../logging/logger.ts';
import { FieldsNotReadyError, type ResolvedMap, resolveFields } from '../mapping/catalogue.ts';
import { loadMapFile } from '../mapping/load-map.ts';
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
export async function resolveMapAgainstAccount(config: Config, client: AmoClient): Promise<ResolvedMap> {
  const map = loadMapFile(config.mappingFile);
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

export async function openSyncContext(
  config: Config,
  logger: Logger,
  parts: { client?: AmoClient; source?: PatientSource; store?: StateStore } = {},
): Promise<SyncContext> {
  // A run's scratch file goes to the state folder, writable by contract even in a read-only
  // container, unless the operator chose a place for SQLite's temporary files.
  process.env.SQLITE_TMPDIR ??= config.stateDir;
  const client = parts.client ?? createAmoClient(config.amocrm, config.stateDir, logger);
  const resolved = await resolveMapAgainstAccount(config, client);
  const zoneWarning = zoneMismatch((await client.account()).timeZone, config.sync.timeZone);
  if (zoneWarning) logger.warn(zoneWarning);
  const mapper = createMapper(resolved, { timeZone: config.sync.timeZone });
  const source =
    parts.source ??
    new SqlPatientSource(await connectIdent(config.database!), loadSqlFiles(config.sqlDir), config.database!);
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
