import type { Command } from 'commander';
import { ActionableError } from '../../errors.ts';
import { forTestDb, IdentDbError } from '../../ident/errors.ts';
import { loadDealMapAndSql, loadMapAndSql } from '../../ident/map-check.ts';
import { type ChangeMark, SqlPatientSource } from '../../ident/patient-source.ts';
import { connectIdent, type SqlConnection } from '../../ident/pool.ts';
import {
  columnKey,
  columnTypes,
  prepareForDatabase,
  prepareReceptionsForDatabase,
} from '../../ident/prepare.ts';
import { checkSchema, filteredColumns, leadingIndexes, queriesInEffect } from '../../ident/schema-check.ts';
import { referencedColumns } from '../../ident/sql-analysis.ts';
import { asWritten, type Guess, type PreparedSql, type SqlFiles } from '../../ident/sql-files.ts';
import { writeRights, writeRightsWarning } from '../../ident/sql-login-rights.ts';
import { streamRows } from '../../ident/stream.ts';
import { offlineCatalogue, resolveFields } from '../../mapping/catalogue.ts';
import { createMapper } from '../../mapping/mapper.ts';
import type { ContactMap } from '../../mapping/schema.ts';
import { commandContext } from '../context.ts';
import type { Config, DatabaseConfig } from '../../config/config.ts';
import { sourceError } from '../../sources/source-error.ts';
import { patientTotals, reportPaymentsJournal } from './test-db-payments.ts';
import { checkReceptions, receptionQueries } from './test-db-receptions.ts';

export function registerTestDb(program: Command): void {
  program
    .command('test-db')
    .description(
      'check the IDENT database: connection, columns (guessed ones too), indexes, clock, query times, a sample',
    )
    .option('--receptions', 'check the reception SQL and data too, even before SYNC_RECEPTIONS is turned on')
    .option('--source <key>', 'in a clinic chain (SOURCES), check only this source')
    .action(async (options: { receptions?: boolean; source?: string }) => {
      try {
        await testDb(options.receptions === true, options.source);
      } catch (error) {
        throw forTestDb(error);
      }
    });
}

/**
 * Every source's database in turn (SOURCES), each under a heading with its key, or the one
 * database of a single clinic as before. A source that fails does not hide the next one's answer.
 */
async function testDb(receptionsAsked: boolean, only: string | undefined): Promise<void> {
  const { config } = commandContext(['database']);
  const out = (line = '') => process.stdout.write(`${line}\n`);
  // Before any connection: a write in SQL_DIR, or a map naming a column the SQL lacks, stops here.
  const { map, files } = loadMapAndSql(config);
  const deals = config.sync.receptions || receptionsAsked ? loadDealMapAndSql(config) : undefined;
  const keys = config.scopes.map((scope) => scope.key);
  if (only !== undefined && !keys.includes(only))
    throw new ActionableError(
      config.chain
        ? `--source: there is no source "${only}"; the sources are ${keys.join(', ')}`
        : '--source: SOURCES is not set, so there is one database to check; run test-db without --source',
      { exitCode: 2 },
    );
  const check = (db: DatabaseConfig) => checkDatabase(config, db, { map, files, deals }, out);
  if (!config.chain) return check(config.database!);
  const failed: string[] = [];
  for (const { scope, database } of config.sources) {
    if (only !== undefined && scope.key !== only) continue;
    out(`── source ${scope.key}${scope.bare ? ' (its ids stay bare)' : ''} ──`);
    try {
      await check(database);
    } catch (error) {
      const shown = forTestDb(error instanceof IdentDbError ? sourceError(scope.key, error) : error);
      if (!(shown instanceof ActionableError)) throw shown;
      out(`error: ${shown.message}`);
      failed.push(scope.key);
    }
    out();
  }
  if (failed.length > 0)
    throw new ActionableError(
      `the check failed for source(s) ${failed.join(', ')}; the lines under each heading above say what to fix`,
    );
}

async function checkDatabase(
  config: Config,
  db: DatabaseConfig,
  {
    map,
    files,
    deals,
  }: { map: ContactMap; files: SqlFiles; deals: ReturnType<typeof loadDealMapAndSql> | undefined },
  out: Out,
): Promise<void> {
  const server = db.instance ? `${db.host}\\${db.instance}` : `${db.host}:${db.port}`;
  out(`connecting to ${server}, database ${db.database} (timeout ${db.connectTimeoutMs / 1000} s)…`);
  const connection = await connectIdent(db);
  try {
    const [info] = await collect(
      connection,
      "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(50)) AS Version, CAST(SERVERPROPERTY('Edition') AS nvarchar(100)) AS Edition, DB_NAME() AS DatabaseName, SUSER_SNAME() AS LoginName",
    );
    out(`server:   SQL Server ${info?.Version} (${info?.Edition})`);
    out(`database: ${info?.DatabaseName}, login: ${info?.LoginName}`);
    await reportWriteRights(connection, files, String(info?.LoginName), out);

    const prepared = await prepareForDatabase(connection, files);
    const receptionSql = deals && (await prepareReceptionsForDatabase(connection, deals.files));
    // With SYNC_RECEPTIONS (or --receptions), the reception SQL is checked with the rest.
    const queries = {
      ...queriesInEffect(files, prepared),
      ...(deals && receptionSql ? receptionQueries(deals.files, receptionSql) : {}),
    };
    const missing = await reportSchema(connection, files.dir, queries, out);
    // Every query below would fail on a missing confirmed column: the summary above is the answer.
    if (missing.length > 0)
      throw new ActionableError(`${missing.join('; ')}; test-db stopped there, as every query needs them`);
    const failures = [
      ...reportGuesses(files.dir, 'patients.sql', prepared.emptied, map.fields, out),
      ...(deals && receptionSql
        ? reportGuesses(deals.files.dir, 'receptions.sql', receptionSql.emptied, deals.map.fields, out)
        : []),
    ];
    await reportPersonsChanges(connection, prepared, out);
    await reportIndexes(connection, queriesInEffect(files, prepared), out);

    const source = new SqlPatientSource(connection, files, prepared, db);
    const clock = await source.now();
    const stats = await source.stats();
    reportClock(clock, stats, config.sync.overlapSeconds, out);
    await reportTimes(source, prepared, clock, out);
    failures.push(...(await reportSample(source, connection, files, map, config.sync.timeZone, out)));
    await reportPaymentsJournal(
      connection,
      (await collect(connection, files.sample)).map((row) => String(row.PatientId)),
      async (id) => patientTotals(await source.one(id)),
      out,
    );
    if (deals && receptionSql) {
      if (!config.sync.receptions)
        out('receptions (SYNC_RECEPTIONS is off; checked as they would be synced):');
      failures.push(
        ...(await checkReceptions({
          connection,
          db,
          map: deals.map,
          files: deals.files,
          prepared: receptionSql,
          serverNow: clock.at,
          now: new Date(),
          daysBack: config.sync.receptionsDaysBack,
          timeZone: config.sync.timeZone,
          syncIntervalMinutes: config.sync.intervalMinutes,
          out,
        })),
      );
    }
    if (failures.length > 0) throw new ActionableError(failures.join('; '));
    out('IDENT database: OK');
  } finally {
    await connection.close();
  }
}

type Out = (line?: string) => void;

/** A login that can write is a warning (many IDENT installations use `sa`), never a refusal. */
async function reportWriteRights(
  connection: SqlConnection,
  files: SqlFiles,
  login: string,
  out: Out,
): Promise<void> {
  const tables = new Set<string>();
  for (const sql of Object.values(queriesInEffect(files, asWritten(files))))
    for (const table of referencedColumns(sql).keys())
      if (table !== 'ident_sync_selection') tables.add(table);
  const warning = writeRightsWarning(await writeRights(connection, [...tables]), login);
  if (warning) out(warning);
}

async function reportSchema(
  connection: SqlConnection,
  dir: string,
  queries: Record<string, string>,
  out: Out,
): Promise<string[]> {
  const schema = await checkSchema(connection, queries);
  if (schema.missing.length === 0) {
    out(`schema:   all ${schema.columns} columns in ${schema.tables} tables the SQL uses are present`);
    return [];
  }
  out(
    `schema:   ${schema.missing.length} missing of ${schema.columns} columns in ${schema.tables} tables the SQL uses:`,
  );
  for (const piece of schema.missing) {
    const what = piece.column ? `column ${piece.table}.${piece.column}` : `table ${piece.table}`;
    out(`  - ${what}, used by ${piece.files.map((file) => `${dir}/${file}`).join(', ')}`);
  }
  return [
    `the IDENT database lacks ${schema.missing.length} table(s)/column(s) the SQL uses; adapt the SQL files listed above`,
  ];
}

function reportGuesses(
  dir: string,
  file: string,
  emptied: readonly Guess[],
  fields: readonly { source: string; name: string }[],
  out: Out,
): string[] {
  const fieldsOf = (alias: string) =>
    fields.filter((field) => field.source === alias).map((field) => `«${field.name}»`);
  if (emptied.length === 0) {
    out(`guessed:  every unconfirmed column of ${file} exists here`);
    return [];
  }
  out(
    `guessed:  ${emptied.length} unconfirmed column(s) of ${file} are missing here; the sync runs them as empty values:`,
  );
  for (const guess of emptied) {
    const fields = fieldsOf(guess.alias);
    out(
      `  - ${guess.needs.map((column) => `${column.table}.${column.column}`).join(', ')}: ${guess.alias}${fields.length > 0 ? ` (${fields.join(', ')} stays empty)` : ''}`,
    );
  }
  out(
    `  To map them, put your database's columns in place of these lines of ${dir}/${file}, or paste them as they are:`,
  );
  for (const guess of emptied) out(`    line ${guess.line}: ${guess.fallbackLine.trim()}`);
  return [];
}

async function reportPersonsChanges(
  connection: SqlConnection,
  prepared: PreparedSql,
  out: Out,
): Promise<void> {
  const persons = await columnTypes(connection, ['Persons']);
  const stamp = persons.has('persons.datetimechanged');
  const rowVersions = [...persons]
    .filter(([, type]) => type === 'timestamp')
    .map(([key]) => key.split('.')[1]!);
  const used = prepared.changeSelections
    .map((selection) => selection.name)
    .filter((name) => name.includes('persons'));
  if (!stamp && rowVersions.length === 0) {
    out(
      'persons:  Persons has no change column (no DateTimeChanged, no rowversion): an edit made only in Persons (a phone, a name) reaches amoCRM with the next deep sync, unless IDENT also stamps Patients.DateTimeChanged',
    );
    return;
  }
  const found = [...(stamp ? ['DateTimeChanged'] : []), ...rowVersions.map((name) => `rowversion ${name}`)];
  out(
    `persons:  Persons has ${found.join(' and ')}: ${used.length > 0 ? `incremental syncs use ${used.join(', ')}` : 'no selection uses it yet'}`,
  );
  if (rowVersions.length > 0 && !persons.has(columnKey({ table: 'Persons', column: 'RowVersion' }))) {
    out(
      `  its rowversion is named ${rowVersions[0]}: write that name into select-changed-persons-rowversion.sql`,
    );
  }
}

async function reportIndexes(
  connection: SqlConnection,
  queries: Record<string, string>,
  out: Out,
): Promise<void> {
  const columns = filteredColumns(queries);
  const indexes = await leadingIndexes(connection, columns);
  const missing = columns.filter((column) => !indexes.has(columnKey(column)));
  out(
    `indexes:  ${columns.length - missing.length} of ${columns.length} columns the queries filter and join on lead an index`,
  );
  for (const column of missing) {
    out(
      `  - no index leads with ${column.table}.${column.column}: reads of it scan the table (ident-sync never creates objects in IDENT; ask the clinic's IDENT support)`,
    );
  }
}

function reportClock(
  clock: ChangeMark,
  stats: { patients: number; newestChange: Date | null },
  overlapSeconds: number,
  out: Out,
): void {
  out(
    `patients: ${stats.patients}, newest change ${stats.newestChange ? formatWallClock(stats.newestChange) : 'none'}`,
  );
  if (!stats.newestChange) return;
  const ahead = Math.round((stats.newestChange.getTime() - clock.at.getTime()) / 1000);
  if (ahead <= 1) {
    out(`clock:    the server reads ${formatWallClock(clock.at)}; no change is stamped in its future`);
    return;
  }
  out(
    `clock:    warning: the newest Patients.DateTimeChanged is ${ahead} s ahead of the server's clock (${formatWallClock(clock.at)}): a workstation's clock runs ahead and stamps changes in the future; ${ahead < overlapSeconds ? `SYNC_OVERLAP_SECONDS=${overlapSeconds} covers it` : `set SYNC_OVERLAP_SECONDS to at least ${ahead + 60}, or changes stamped that far ahead may be skipped`}`,
  );
}

/** Each assembled query once, timed: the change selection, a page of patients, one patient. */
async function reportTimes(
  source: SqlPatientSource,
  prepared: PreparedSql,
  clock: ChangeMark,
  out: Out,
): Promise<void> {
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const result = await work();
    return { result, ms: Math.round(performance.now() - started) };
  };
  const day = { at: new Date(clock.at.getTime() - 86_400_000), rowVersion: clock.rowVersion };
  const changed = await timed(() => source.changedIds(day));
  const page = await timed(async () => {
    let rows = 0;
    for await (const _row of source.all()) if (++rows >= 500) break;
    return rows;
  });
  const one = changed.result[0] ?? 1;
  const single = await timed(() => source.one(String(one)));
  out(
    `timing:   change selection (${prepared.changeSelections.map((selection) => selection.name).join(' + ')}) over the last 24 h: ${changed.result.length} patient(s) in ${changed.ms} ms; one page of 500 patients: ${page.result} row(s) in ${page.ms} ms; one patient: ${single.ms} ms`,
  );
}

async function reportSample(
  source: SqlPatientSource,
  connection: SqlConnection,
  files: SqlFiles,
  map: ContactMap,
  timeZone: string,
  out: Out,
): Promise<string[]> {
  const mapper = createMapper(resolveFields(map, offlineCatalogue(map)), { timeZone });
  const ids = (await collect(connection, files.sample)).map((row) => String(row.PatientId));
  const failures: string[] = [];
  const notes = new Map<string, number>();
  for (const id of ids) {
    const row = await source.one(id);
    if (!row) continue;
    const outcome = mapper(row);
    if (!outcome.ok) failures.push(`patient ${outcome.patientId ?? '?'}: ${outcome.reason}`);
    for (const note of outcome.ok ? outcome.contact.notes : outcome.notes)
      notes.set(`${note.field}: ${note.note}`, (notes.get(`${note.field}: ${note.note}`) ?? 0) + 1);
  }
  out(
    `sample:   the ${ids.length} most recently changed patient(s), ${ids.length - failures.length} map cleanly`,
  );
  for (const failure of failures) out(`  - ${failure}`);
  for (const [note, count] of notes) out(`  note: ${note} (${count})`);
  return failures.length > 0
    ? [`${failures.length} sample patient(s) do not map; fix the SQL or the map for the reasons above`]
    : [];
}

async function collect(connection: SqlConnection, sql: string) {
  const rows: Record<string, unknown>[] = [];
  try {
    for await (const row of streamRows(connection.request(), sql)) rows.push(row);
  } catch (error) {
    if (error instanceof IdentDbError) throw error;
    throw new ActionableError(`a test-db query failed: ${(error as Error).message}`);
  }
  return rows;
}

/** Dates from IDENT are wall-clock readings (UTC fields hold the server's local time). */
export function formatWallClock(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
}
