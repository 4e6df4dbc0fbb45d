import { zoneMismatch } from '../../amocrm/account-zone.ts';
import { type AmoClient, createAmoClient } from '../../amocrm/client.ts';
import type { Config, DatabaseConfig } from '../../config/config.ts';
import { ActionableError } from '../../errors.ts';
import { type ChangeMark, type PatientSource, SqlPatientSource } from '../../ident/patient-source.ts';
import { connectIdent, type SqlConnection } from '../../ident/pool.ts';
import { classifyDbError } from '../../ident/errors.ts';
import { ChainPatientSource, ChainReceptionSource, type IdentSource } from '../../sources/scoped-sources.ts';
import { pipelineSourcesProblem, sourcesProblem } from '../../sources/state-check.ts';
import { ownershipProblem, settingsOf } from '../../sources/ownership-check.ts';
import { ConfigError } from '../../config/errors.ts';
import { sourceError } from '../../sources/source-error.ts';
import { keyedPatients, keyedReceptions } from '../../sources/keyed-errors.ts';
import { prepareForDatabase, prepareReceptionsForDatabase, reportPrepared } from '../../ident/prepare.ts';
import type { ReceptionSqlFiles } from '../../ident/reception-sql.ts';
import { type ReceptionSource, SqlReceptionSource } from '../../ident/reception-source.ts';
import type { SqlFiles } from '../../ident/sql-files.ts';
import type { Logger } from '../../logging/logger.ts';
import {
  FieldsNotReadyError,
  resolveFieldList,
  type ResolvedField,
  type ResolvedMap,
  resolveFields,
} from '../../mapping/catalogue.ts';
import { type DealMap, overdueHours } from '../../mapping/deal-map.ts';
import { createDealMapper, type DealMapper, type ResolvedDealMap } from '../../mapping/deal-mapper.ts';
import { PipelinesNotReadyError, resolvePipelines } from '../../mapping/pipelines.ts';
import type { ContactMap } from '../../mapping/schema.ts';
import { createMapper, type Mapper } from '../../mapping/mapper.ts';
import { StateStore } from '../../state/store.ts';
import { type Clock, systemClock } from '../../support/clock.ts';
import type { StreamKinds } from '../../daemon/stream-history.ts';
import type { DealRun, DealSyncOptions, DealSyncResult } from '../deals/run.ts';
import { noDealCounts } from '../deals/run.ts';
import { dealsStream } from '../deals/stream.ts';
import { DealSetupError } from '../deals/setup-error.ts';

export { DealSetupError };
import type { SyncOptions, SyncResult, SyncRun } from '../contacts/run.ts';
import { contactsStream } from '../contacts/stream.ts';
import { mayRun } from './stream.ts';

/** Receptions → deals, when SYNC_RECEPTIONS=true. */
export interface DealParts {
  source: ReceptionSource;
  resolved: ResolvedDealMap;
  mapper: DealMapper;
}

/** Everything a sync needs, opened from the configuration. */
export interface SyncContext {
  client: AmoClient;
  source: PatientSource;
  resolved: ResolvedMap;
  mapper: Mapper;
  store: StateStore;
  /** Present when receptions become deals and the account has the deal map's fields and pipelines. */
  deals: DealParts | undefined;
  /** SYNC_RECEPTIONS is on (the deal parts may still wait for the account's set-up). */
  dealsWanted: boolean;
  /** The deal parts, resolving the deal map against the account again while it was not ready. */
  readyDeals(): Promise<DealParts>;
  newRun(options?: Partial<SyncOptions>): SyncRun;
  /** A deal run; throws when SYNC_RECEPTIONS is off. */
  newDealRun(options?: Partial<DealSyncOptions>): DealRun;
  /** A run of each: contacts, then (when on and the contacts went well) deals. */
  syncAll(
    kind: 'incremental' | 'deep' | StreamKinds,
    options?: { dryRun?: boolean; shouldStop?: () => boolean },
  ): Promise<FullSyncResult>;
  close(): Promise<void>;
}

export interface FullSyncResult extends SyncResult {
  /** The deal run, when receptions are synced and the contact run succeeded. */
  deals?: DealSyncResult;
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

/** The deal map's field, pipeline and stage ids, read at start as the contact fields are. */
export async function resolveDealMapAgainstAccount(
  map: DealMap,
  client: AmoClient,
): Promise<ResolvedDealMap> {
  try {
    return {
      map,
      fields: resolveFieldList(map.fields, await client.leadFields.list(), 'deal'),
      pipelines: resolvePipelines(map, await client.pipelines.list()),
    };
  } catch (error) {
    if (error instanceof FieldsNotReadyError || error instanceof PipelinesNotReadyError)
      throw new DealSetupError(error);
    throw error;
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
    clock?: Clock;
    boot?: string;
  },
  options: SyncOptions,
): SyncRun {
  const { client, source, resolved, mapper, store, logger, timeZone, clock, boot } = parts;
  return contactsStream.newRun(
    {
      source,
      mapper,
      resolved,
      timeZone,
      contacts: client.contacts,
      store,
      logger,
      requestCount: () => client.http.stats.requests,
      clock,
      boot,
    },
    options,
  );
}

/** Opens a source's connection: the SQL Server pool (a test stands a fake in). */
export type ConnectIdent = (db: DatabaseConfig) => Promise<SqlConnection>;

/**
 * IDENT with the SQL fitted to this database (guessed columns it lacks run as typed NULLs): the
 * patients, and on the same connection the receptions when they are synced.
 */
async function openIdent(
  db: DatabaseConfig,
  { files, map, deals, logger, connect }: IdentParts,
): Promise<OpenedIdent> {
  const connection = await connect(db);
  const fieldsOf = (fields: readonly { source: string; name: string }[]) => (alias: string) =>
    fields.filter((field) => field.source === alias).map((field) => field.name);
  try {
    const prepared = await prepareForDatabase(connection, files);
    reportPrepared(prepared, logger, fieldsOf(map.fields));
    let receptions: ReceptionSource | undefined;
    if (deals) {
      const preparedReceptions = await prepareReceptionsForDatabase(connection, deals.files);
      reportPrepared(preparedReceptions, logger, fieldsOf(deals.map.fields));
      receptions = new SqlReceptionSource(connection, deals.files, preparedReceptions, db, {
        noShowHours: overdueHours(deals.map),
      });
    }
    return { patients: new SqlPatientSource(connection, files, prepared, db), receptions };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw classifyDbError(error, db);
  }
}

/**
 * Two sources that answer with the same number of patients and the same newest change (to the
 * millisecond) are one database reached two ways (an alias, another address of the server): read
 * twice, every patient and visit would be sent twice under two keys.
 */
async function sameDatabaseTwice(opened: readonly IdentSource[]): Promise<string | undefined> {
  const seen = new Map<string, string>();
  for (const source of opened) {
    const { patients, newestChange } = await source.patients.stats();
    if (patients === 0 || !newestChange) continue;
    const fingerprint = `${patients}|${newestChange.getTime()}`;
    const other = seen.get(fingerprint);
    if (other)
      return `the sources ${other} and ${source.scope.key} read the same database (${patients} patients, the same last change): give each source its own clinic's database in its SOURCE_<KEY>_DB_* settings`;
    seen.set(fingerprint, source.scope.key);
  }
  return undefined;
}

/** What opening an IDENT database needs besides its connection settings. */
interface IdentParts {
  files: SqlFiles;
  map: ContactMap;
  deals: { map: DealMap; files: ReceptionSqlFiles } | undefined;
  logger: Logger;
  connect: ConnectIdent;
}

type OpenedIdent = { patients: PatientSource; receptions: ReceptionSource | undefined };

/**
 * The IDENT sources of the configuration: one database read as today, or (SOURCES) each source's
 * database, the same SQL and maps for all, read as one chain with ids scoped by source. A source
 * that cannot be opened stops the start with its key in the sentence; those opened are closed.
 */
async function openSources(config: Config, parts: IdentParts): Promise<OpenedIdent> {
  const { deals, logger } = parts;
  if (!config.chain) return openIdent(config.database!, parts);
  if (config.sources.length === 0) throw new Error('the sources of SOURCES have no connection settings');
  const opened: IdentSource[] = [];
  try {
    for (const { scope, database } of config.sources) {
      const ident = await openIdent(database, {
        ...parts,
        logger: logger.child({ source: scope.key }),
      }).catch((error: unknown) => {
        throw sourceError(scope.key, classifyDbError(error, database));
      });
      opened.push({
        scope,
        patients: keyedPatients(scope.key, ident.patients),
        ...(ident.receptions ? { receptions: keyedReceptions(scope.key, ident.receptions) } : {}),
      });
    }
    const twice = await sameDatabaseTwice(opened);
    if (twice) throw new ConfigError([twice]);
  } catch (error) {
    for (const source of opened) await source.patients.close().catch(() => undefined);
    throw error;
  }
  return {
    patients: new ChainPatientSource(opened),
    receptions: deals ? new ChainReceptionSource(opened) : undefined,
  };
}

/**
 * The state's patients must belong to the configured sources (src/sources/state-check.ts); a
 * chain's bare-id clinic is recorded on its first start and must stay the same.
 */
function checkStateSources(config: Config, store: StateStore): void {
  const recorded = store.getMeta('chain_bare_source');
  const problem = sourcesProblem(
    config.scopes,
    store.countsBySource().links,
    config.chain ? recorded : undefined,
  );
  if (problem) throw new ConfigError([problem]);
  const bare = config.scopes.find((scope) => scope.bare)?.key;
  if (config.chain && bare !== undefined && recorded === undefined) store.setMeta('chain_bare_source', bare);
}

/**
 * When the sources' settings changed since the last start, each source's database must hold the
 * patients synced under its key (src/sources/ownership-check.ts), unless CONFIRM_SOURCES says so.
 */
async function checkDatabasesHoldState(
  config: Config,
  store: StateStore,
  source: PatientSource,
  mapper: Mapper,
): Promise<void> {
  const settings = settingsOf(
    config.scopes,
    config.sources.map(({ scope, database }) => ({ key: scope.key, ...database })),
  );
  if (store.getMeta('sources_settings') === settings) return;
  if (!config.sync.confirmSources) {
    const problem = await ownershipProblem(
      config.scopes,
      (key, limit) => store.recentLinksOf(key, limit),
      source,
      mapper,
    );
    if (problem) throw new ConfigError([problem]);
  }
  store.setMeta('sources_settings', settings);
}

export async function openSyncContext(
  config: Config,
  logger: Logger,
  parts: {
    client?: AmoClient;
    source?: PatientSource;
    receptions?: ReceptionSource;
    store?: StateStore;
    /** The engine's time (a simulation's virtual clock); the system's by default. */
    clock?: Clock;
    boot?: string;
    /** How IDENT connections open when no source is given; the SQL Server pool by default. */
    connect?: ConnectIdent;
  } = {},
): Promise<SyncContext> {
  // A run's scratch file goes to the state folder, writable by contract even in a read-only
  // container, unless the operator chose a place for SQLite's temporary files.
  process.env.SQLITE_TMPDIR ??= config.stateDir;
  // The SQL and the map are checked before anything connects: a write in SQL_DIR is never sent.
  const { map, files } = contactsStream.load(config);
  const dealFiles = config.sync.receptions ? dealsStream.load(config) : undefined;
  const client = parts.client ?? createAmoClient(config.amocrm, config.stateDir, logger);
  let resolved = await resolveMapAgainstAccount(map, client);
  // Deal fields or stages missing (an upgrade that turned SYNC_RECEPTIONS on, a stage an admin
  // removed) cost the deals, not the contacts: every run tries the account again and fails its deal
  // phase with the sentence naming the fix, while the contacts keep syncing.
  let resolvedDeals: ResolvedDealMap | undefined;
  if (dealFiles)
    resolvedDeals = await resolveDealMapAgainstAccount(dealFiles.map, client).catch((error: unknown) => {
      if (!(error instanceof DealSetupError)) throw error;
      logger.error(`${error.message}; the contacts are synced meanwhile`);
      return undefined;
    });
  const { clock, boot } = parts;
  warnMissingOptions([...resolved.fields, ...(resolvedDeals?.fields ?? [])], logger);
  const zoneWarning = zoneMismatch((await client.account()).timeZone, config.sync.timeZone);
  if (zoneWarning) logger.warn(zoneWarning);
  const timeZone = config.sync.timeZone;
  // The deal map's no-show rule reads the time: the engine's clock, virtual in a simulation.
  const dealMapperOptions = {
    timeZone,
    now: () => new Date((clock ?? systemClock).now()),
    bareSource: config.scopes.find((scope) => scope.bare)?.key,
  };
  if (dealFiles) {
    const problem = pipelineSourcesProblem(
      config.scopes,
      Object.keys(dealFiles.map.pipelines.bySource ?? {}),
    );
    if (problem) throw new ConfigError([problem]);
  }
  let mapper = createMapper(resolved, { timeZone });
  const store = parts.store ?? new StateStore(config.stateDir);
  let ident: OpenedIdent | undefined;
  try {
    checkStateSources(config, store);
    ident = parts.source
      ? { patients: parts.source, receptions: parts.receptions }
      : await openSources(config, {
          files,
          map,
          deals: dealFiles,
          logger,
          connect: parts.connect ?? connectIdent,
        });
    await checkDatabasesHoldState(config, store, ident.patients, mapper);
  } catch (error) {
    await ident?.patients.close().catch(() => undefined);
    if (!parts.store) store.close();
    throw error;
  }
  const source = ident.patients;
  if (dealFiles && !ident.receptions)
    throw new Error('SYNC_RECEPTIONS is on but no reception source was given');
  const dealPartsOf = (fresh: ResolvedDealMap): DealParts => ({
    source: ident.receptions!,
    resolved: fresh,
    mapper: createDealMapper(fresh, dealMapperOptions),
  });
  let deals: DealParts | undefined = resolvedDeals ? dealPartsOf(resolvedDeals) : undefined;
  const context: SyncContext = {
    client,
    source,
    resolved,
    mapper,
    store,
    deals,
    dealsWanted: dealFiles !== undefined,
    async readyDeals() {
      if (deals) return deals;
      if (!dealFiles) throw new Error('receptions are not synced (SYNC_RECEPTIONS=false)');
      resolvedDeals = await resolveDealMapAgainstAccount(dealFiles.map, client);
      warnMissingOptions(resolvedDeals.fields, logger);
      deals = dealPartsOf(resolvedDeals);
      context.deals = deals;
      logger.info('the amoCRM deal fields and pipelines are ready; receptions are synced as deals');
      return deals;
    },
    newDealRun(options = {}) {
      const deals = context.deals;
      if (!deals) throw new Error('receptions are not synced (SYNC_RECEPTIONS=false)');
      return dealRunFor(
        {
          client,
          deals,
          store,
          logger,
          timeZone,
          now: () => source.now(),
          ensureContact: ensureContactOf(context),
          clock,
          boot,
        },
        {
          batchSize: config.amocrm.batchSize,
          overlapSeconds: config.sync.overlapSeconds,
          daysBack: config.sync.receptionsDaysBack,
          requestTimeoutMs: config.amocrm.timeoutMs,
          ...options,
        },
      );
    },
    async syncAll(kind, options = {}) {
      const kinds = typeof kind === 'string' ? { contacts: kind, deals: kind } : kind;
      if (kinds.contacts === 'deep' || kinds.deals === 'deep')
        await rereadAccount().catch((error: unknown) => {
          // A contact field gone stops us as at start; amoCRM unavailable only means the ids read before stand.
          if (error instanceof FieldsSetupError) throw error;
          logger.warn(
            { err: error },
            'could not read the amoCRM fields again; the deep sync uses those read before',
          );
        });
      const contacts: FullSyncResult = await context.newRun(options).run({ kind: kinds.contacts });
      if (!dealFiles || !mayRun(dealsStream, { [contactsStream.name]: contacts.outcome })) return contacts;
      try {
        await context.readyDeals();
      } catch (error) {
        const at = new Date((clock ?? systemClock).now());
        return {
          ...contacts,
          deals: dealPhaseNotReady(kinds.deals, error as Error, store, logger, options, at),
        };
      }
      const dealResult = await context.newDealRun(options).run({ kind: kinds.deals });
      // A stage or field gone since (the run's own re-read found it): resolved again, with the
      // sentence naming the fix, until the account has it.
      if (dealResult.error instanceof DealSetupError) {
        deals = undefined;
        context.deals = undefined;
      }
      return { ...contacts, deals: dealResult };
    },
    newRun(options = {}) {
      return syncRunFor(
        {
          client,
          source,
          resolved: context.resolved,
          mapper: context.mapper,
          store,
          logger,
          timeZone: config.sync.timeZone,
          clock,
          boot,
        },
        {
          batchSize: config.amocrm.batchSize,
          matchByPhone: config.sync.matchByPhone,
          overlapSeconds: config.sync.overlapSeconds,
          requestTimeoutMs: config.amocrm.timeoutMs,
          ...options,
        },
      );
    },
    async close() {
      await source.close().catch(() => undefined);
      store.close();
    },
  };
  /**
   * Each deep sync reads the account's fields and pipelines again (three requests, twice a day): an
   * option an admin added back, a field re-created or a stage added later gets its new id here, so
   * a refused value can land at its daily retry without a restart. A field gone stops the run
   * with the same sentence as at start.
   */
  const rereadAccount = async () => {
    const fresh = await resolveMapAgainstAccount(map, client);
    if (idsOf(fresh.fields) !== idsOf(resolved.fields)) {
      resolved = fresh;
      mapper = createMapper(resolved, { timeZone });
      context.resolved = resolved;
      context.mapper = mapper;
      logger.info('the amoCRM contact fields changed since the last read; using their new ids');
      warnMissingOptions(resolved.fields, logger);
    }
    if (dealFiles && deals) {
      let freshDeals: ResolvedDealMap;
      try {
        freshDeals = await resolveDealMapAgainstAccount(dealFiles.map, client);
      } catch (error) {
        if (!(error instanceof DealSetupError)) throw error;
        // Read again, and refused with the sentence, by the deal phase: the contacts go on.
        deals = undefined;
        context.deals = undefined;
        return;
      }
      if (
        idsOf(freshDeals.fields) + JSON.stringify(freshDeals.pipelines) !==
        idsOf(resolvedDeals!.fields) + JSON.stringify(resolvedDeals!.pipelines)
      ) {
        resolvedDeals = freshDeals;
        deals = { ...deals, resolved: freshDeals, mapper: createDealMapper(freshDeals, dealMapperOptions) };
        context.deals = deals;
        logger.info('the amoCRM deal fields or pipelines changed since the last read; using their new ids');
      }
    }
  };
  return context;
}

/** The deal phase of a run whose deal parts could not be made ready: failed with the reason, recorded for `status`. */
function dealPhaseNotReady(
  requested: StreamKinds['deals'],
  error: Error,
  store: StateStore,
  logger: Logger,
  options: { dryRun?: boolean },
  at: Date,
): DealSyncResult {
  const counts = noDealCounts();
  const kind = requested === 'incremental' && !store.deals.checkpoint() ? 'initial' : requested;
  if (!options.dryRun) {
    store.deals.setLastRun({
      at: at.toISOString(),
      kind,
      outcome: 'failed',
      error: error.message,
      ...counts,
    });
    // A deep attempt as the schedule counts them: its catch-up waits as after any failed deep run.
    if (requested === 'deep') store.deals.setDeepAttemptAt(at);
  }
  logger.error({ kind, err: error }, 'deal sync failed');
  return { kind, outcome: 'failed', error, durationMs: 0, duplicates: 0, pending: 0, ...counts };
}

/** An option the map needs but the account lacks costs its patients that field: say so once a read. */
function warnMissingOptions(fields: readonly ResolvedField[], logger: Logger): void {
  for (const field of fields) {
    const missing = (field.spec.choices ?? []).filter((choice) => !field.enumIds.has(choice));
    if (missing.length > 0)
      logger.warn(
        `the amoCRM field "${field.spec.name}" lacks the options ${missing.join(', ')}: those values are listed as refused until \`ident-sync fields --create\` adds them`,
      );
  }
}

/** What a resolved field list means to amoCRM: field ids, types and option ids, in map order. */
function idsOf(
  fields: readonly { fieldId: number; amoType: string; enumIds: ReadonlyMap<string, number> }[],
): string {
  return JSON.stringify(fields.map((field) => [field.fieldId, field.amoType, [...field.enumIds]]));
}

/** A deal run over these parts. */
export function dealRunFor(
  parts: {
    client: AmoClient;
    deals: DealParts;
    store: StateStore;
    logger: Logger;
    timeZone: string;
    now: () => Promise<ChangeMark>;
    ensureContact?: (patientId: string) => Promise<number | undefined>;
    clock?: Clock;
    boot?: string;
  },
  options: DealSyncOptions,
): DealRun {
  const { client, deals, store, logger, timeZone } = parts;
  return dealsStream.newRun(
    {
      source: deals.source,
      mapper: deals.mapper,
      resolved: deals.resolved,
      timeZone,
      leads: client.leads,
      readPipelines: () => client.pipelines.list(),
      store,
      logger,
      requestCount: () => client.http.stats.requests,
      now: parts.now,
      ensureContact: parts.ensureContact,
      clock: parts.clock,
      boot: parts.boot,
    },
    options,
  );
}

/** A patient's contact synced on its own (a reception of a patient the contact sync has not linked yet). */
const ensureContactOf =
  (context: SyncContext) =>
  async (patientId: string): Promise<number | undefined> => {
    const result = await context.newRun().run({ kind: 'single', patientId });
    return result.outcome === 'ok' ? context.store.link(patientId)?.contactId : undefined;
  };
