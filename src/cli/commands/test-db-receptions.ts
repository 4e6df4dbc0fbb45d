import type { DatabaseConfig } from '../../config/config.ts';
import { columnKey, columnTypes } from '../../ident/prepare.ts';
import { type SqlConnection, SqlTypes } from '../../ident/pool.ts';
import {
  type PreparedReceptionSql,
  RECEPTION_ROWVERSION_FILE,
  type ReceptionSqlFiles,
} from '../../ident/reception-sql.ts';
import { SqlReceptionSource } from '../../ident/reception-source.ts';
import { filteredColumns, leadingIndexes } from '../../ident/schema-check.ts';
import { columnsBehind } from '../../ident/sql-analysis.ts';
import { streamRows } from '../../ident/stream.ts';
import { offlineCatalogue, resolveFieldList } from '../../mapping/catalogue.ts';
import { type DealMap, overdueHours } from '../../mapping/deal-map.ts';
import { createDealMapper, type DealMapper } from '../../mapping/deal-mapper.ts';
import { offlinePipelines, resolvePipelines } from '../../mapping/pipelines.ts';
import { daysBefore } from '../../streams/deals/run.ts';

type Out = (line?: string) => void;

export interface ReceptionCheck {
  connection: SqlConnection;
  db: DatabaseConfig;
  map: DealMap;
  files: ReceptionSqlFiles;
  prepared: PreparedReceptionSql;
  /** The IDENT server's clock (a wall-clock reading). */
  serverNow: Date;
  /** The instant now, for the map's no-show rule. */
  now: Date;
  daysBack: number;
  timeZone: string;
  syncIntervalMinutes: number;
  out: Out;
}

/** The reception queries as they run here, by file name (for the schema and index checks). */
export function receptionQueries(
  files: ReceptionSqlFiles,
  prepared: PreparedReceptionSql,
): Record<string, string> {
  return {
    'receptions.sql': prepared.receptions,
    'receptions-select-changed.sql': files.selectChanged,
    'receptions-select-window.sql': files.selectWindow,
    'receptions-select-one.sql': files.selectOne,
    'receptions-sample.sql': files.sample,
    ...(prepared.rowVersionSelection ? { [RECEPTION_ROWVERSION_FILE]: prepared.rowVersionSelection } : {}),
  };
}

/**
 * `ident-sync test-db` for visits (SYNC_RECEPTIONS, or `--receptions` before turning it on): the
 * types behind the stage rules, the cancel reasons, table sizes and indexes, what the last 30 days
 * look like through the deal map, query times, and the latest changed visits mapped. Failures
 * come back as sentences; the rest is printed.
 */
export async function checkReceptions(check: ReceptionCheck): Promise<string[]> {
  const failures = [...(await reportStageColumnTypes(check)), ...(await reportCancelReasons(check))];
  reportChangeSelection(check);
  await reportSizesAndIndexes(check);
  const source = new SqlReceptionSource(check.connection, check.files, check.prepared, check.db, {
    noShowHours: overdueHours(check.map),
  });
  const mapper = offlineDealMapper(check.map, check.timeZone, check.now);
  await reportBreakdown(check, source, mapper);
  await reportTimes(check, source);
  failures.push(...(await reportSample(check, source, mapper)));
  return failures;
}

const DATE_TYPES = new Set(['datetime', 'datetime2', 'smalldatetime', 'date', 'datetimeoffset']);

/**
 * The stage rules read their columns as "set or not": a timestamp set when the visit reached the
 * state. A bit or a number (CheckIssued's type is unconfirmed) is set on every visit, 0 included,
 * and would put every visit in that state. Keys (ID_…) mean "set" by being there; text read by
 * `matches` is text.
 */
async function reportStageColumnTypes(check: ReceptionCheck): Promise<string[]> {
  const aliases = [
    ...check.map.states.flatMap((rule) => (rule.when && !rule.matches ? [rule.when] : [])),
    ...check.map.states.flatMap((rule) => (rule.overdue ? [rule.overdue.column] : [])),
  ];
  const behind = columnsBehind(check.prepared.receptions, aliases);
  const columns = [...behind.values()].flat().filter((column) => !/^ID_/i.test(column.column));
  const types = await columnTypes(
    check.connection,
    columns.map((column) => column.table),
  );
  const wrong: string[] = [];
  for (const [alias, used] of behind) {
    for (const column of used) {
      const type = types.get(columnKey(column));
      if (/^ID_/i.test(column.column) || type === undefined || DATE_TYPES.has(type)) continue;
      wrong.push(`${column.table}.${column.column} is ${type}, not a date (it feeds ${alias})`);
    }
  }
  if (wrong.length === 0) {
    const shown = [...new Set(columns.map((column) => `${column.table}.${column.column}`))];
    check.out(`stages:   the columns the stage rules read are dates (${shown.join(', ')})`);
    return [];
  }
  check.out('stages:   warning: a stage rule reads a column that is not a date:');
  for (const line of wrong)
    check.out(`  - ${line}: it is set on every visit, so every visit would count as such`);
  return [
    `${wrong.length} column(s) the stage rules read are not dates; compare them in receptions.sql (e.g. CASE WHEN x = 1 THEN r.DateTimeChanged END) or drop them from the expression`,
  ];
}

/** How changed visits are found: by the change stamp alone, or by the rowversion too. */
function reportChangeSelection(check: ReceptionCheck): void {
  check.out(
    check.prepared.rowVersionSelection
      ? `changes:  changed visits are selected by DateTimeChanged and by Receptions.RowVersion (${RECEPTION_ROWVERSION_FILE}): a workstation's wrong clock cannot hide a change to a visit`
      : check.files.selectChangedRowVersion
        ? 'changes:  changed visits are selected by DateTimeChanged alone (no Receptions.RowVersion here): a workstation whose clock runs behind stamps changes the next deep sync finds'
        : `changes:  changed visits are selected by DateTimeChanged alone (${RECEPTION_ROWVERSION_FILE} is not in SQL_DIR: copy it from the release to select by Receptions.RowVersion too)`,
  );
}

/**
 * Tables whose name mentions a cancellation, with their text columns: where the guessed
 * ReceptionCancelReasons.Name is missing, the integrator sees what this database calls it.
 */
async function cancelTableCandidates(connection: SqlConnection): Promise<string[]> {
  const tables = new Map<string, string[]>();
  const sql = `SELECT c.TABLE_NAME, c.COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS AS c
    WHERE c.TABLE_SCHEMA = N'dbo' AND c.TABLE_NAME LIKE N'%Cancel%'
      AND c.DATA_TYPE IN (N'nvarchar', N'varchar', N'nchar', N'char', N'ntext', N'text')
    ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`;
  for await (const row of streamRows(connection.request(), sql)) {
    const table = String(row.TABLE_NAME);
    tables.set(table, [...(tables.get(table) ?? []), String(row.COLUMN_NAME)]);
  }
  if (tables.size === 0) return ['no table here has "Cancel" in its name'];
  return [
    'tables here named like it, with their text columns:',
    ...[...tables].map(([table, columns]) => `  ${table}: ${columns.join(', ')}`),
  ];
}

/** Whether the reason's text could be read; without it no reason can mean a no-show. */
async function reportCancelReasons(check: ReceptionCheck): Promise<string[]> {
  const reasonRules = check.map.states.filter((rule) => rule.matches);
  const emptied = new Set(check.prepared.emptied.map((guess) => guess.alias));
  const missing = reasonRules.filter((rule) => emptied.has(rule.when!));
  if (emptied.has('CancelReason') || missing.length > 0) {
    check.out(
      `cancels:  the text of a cancel reason is not found here (guessed table and column missing): visits cancelled by a reason still count as cancelled, their reason stays empty${missing.length > 0 ? `, and no reason can mark a ${missing.map((rule) => rule.state).join('/')}` : ''}; write your database's lookup table into the CancelReason line of receptions.sql`,
    );
    for (const line of await cancelTableCandidates(check.connection)) check.out(`  ${line}`);
  } else {
    check.out('cancels:  cancelled = a cancel stamp or a cancel reason; the reason text is read');
  }
  return [];
}

/**
 * The columns the reception SQL looks rows up by — the selections' ranges and the lookups made
 * for every reception (its orders, service lines, slot, earlier visits) — as far as the queries
 * in effect use them. Keys it only reads (a doctor's ID_Staffs, say) lead to a primary key instead.
 */
const SEARCHED_COLUMNS = [
  'Receptions.PlanStart',
  'Receptions.PlanEnd',
  'Receptions.DateTimeChanged',
  'Receptions.ID_Patients',
  'Orders.ID_Receptions',
  'Orders.DateTimeChanged',
  'OrderServiceRelation.ID_Orders',
  'OrderServiceRelation.DateTimeChanged',
  'CurrentTimeTable.ID_Receptions',
];

/** Rows of the tables the reception SQL searches (from the catalogue: nothing scanned), and the indexes it needs. */
async function reportSizesAndIndexes(check: ReceptionCheck): Promise<void> {
  const queries = receptionQueries(check.files, check.prepared);
  const used = new Set(filteredColumns(queries, /^(PlanStart|PlanEnd)$/i).map((column) => columnKey(column)));
  const columns = SEARCHED_COLUMNS.map((key) => {
    const [table, column] = key.split('.') as [string, string];
    return { table, column };
  }).filter((column) => used.has(columnKey(column)));
  const rows = await tableRows(check.connection, [...new Set(columns.map((column) => column.table))]);
  check.out(
    `tables:   ${[...rows.values()].map(({ name, count }) => `${name} ${count.toLocaleString('en-US')} rows`).join(', ') || 'no row counts readable'}`,
  );
  const indexes = await leadingIndexes(check.connection, columns);
  const missing = columns.filter((column) => !indexes.has(columnKey(column)));
  check.out(
    `indexes:  ${columns.length - missing.length} of ${columns.length} columns the reception SQL searches by lead an index`,
  );
  for (const column of missing) {
    const count = rows.get(column.table.toLowerCase())?.count;
    check.out(
      `  - warning: no index leads with ${column.table}.${column.column}: reads by it scan ${count === undefined ? column.table : `all ${count.toLocaleString('en-US')} rows of ${column.table}`}${suggestInterval(count ?? 0, check.syncIntervalMinutes)}`,
    );
  }
}

/** A longer interval for a large table read without an index; nothing when the table is small. */
export function suggestInterval(rows: number, intervalMinutes: number): string {
  if (rows < 100_000) return '';
  const minutes = Math.min(60, Math.ceil(rows / 100_000) * 5);
  return minutes > intervalMinutes
    ? `; on a busy server set SYNC_INTERVAL_MINUTES=${minutes} (now ${intervalMinutes}), or ask the clinic's IDENT support for the index`
    : '';
}

async function tableRows(
  connection: SqlConnection,
  tables: readonly string[],
): Promise<Map<string, { name: string; count: number }>> {
  const found = new Map<string, { name: string; count: number }>();
  if (tables.length === 0) return found;
  const request = connection.request();
  tables.forEach((table, index) => request.input(`t${index}`, SqlTypes.NVarChar, table));
  const sql = `SELECT t.name AS TableName, SUM(p.rows) AS TableRows
FROM sys.tables AS t
JOIN sys.partitions AS p ON p.object_id = t.object_id AND p.index_id IN (0, 1)
WHERE SCHEMA_NAME(t.schema_id) = N'dbo' AND t.name IN (${tables.map((_, index) => `@t${index}`).join(', ')})
GROUP BY t.name`;
  for await (const row of streamRows(request, sql))
    found.set(String(row.TableName).toLowerCase(), {
      name: String(row.TableName),
      count: Number(row.TableRows),
    });
  return new Map([...found].sort(([a], [b]) => a.localeCompare(b)));
}

function offlineDealMapper(map: DealMap, timeZone: string, now: Date): DealMapper {
  const resolved = {
    map,
    fields: resolveFieldList(map.fields, offlineCatalogue(map), 'deal'),
    pipelines: resolvePipelines(map, offlinePipelines(map)),
  };
  return createDealMapper(resolved, { timeZone, now: () => now });
}

export const BREAKDOWN_DAYS = 30;

/**
 * The visits planned in the last 30 days by the state the deal map gives them: "0 cancelled" or
 * "100 % ended" shows at once that a rule reads the wrong column.
 */
async function reportBreakdown(
  check: ReceptionCheck,
  source: SqlReceptionSource,
  mapper: DealMapper,
): Promise<void> {
  const from = daysBefore(check.serverNow, BREAKDOWN_DAYS);
  const counts = new Map<string, number>(check.map.states.map((rule) => [rule.state, 0]));
  let total = 0;
  for await (const row of source.window(from)) {
    const planned = row.PlanStart;
    if (!(planned instanceof Date) || planned > check.serverNow) continue;
    const outcome = mapper(row);
    if (!outcome.ok) continue;
    total += 1;
    counts.set(outcome.deal.placement.state, (counts.get(outcome.deal.placement.state) ?? 0) + 1);
  }
  check.out(
    `visits:   the last ${BREAKDOWN_DAYS} days: ${total} — ${[...counts].map(([state, count]) => `${state} ${count}`).join(', ')}`,
  );
  for (const line of breakdownWarnings(counts, total)) check.out(`  - warning: ${line}`);
}

/** What a clinic's month cannot look like: one state for every visit, or no cancellation at all. */
export function breakdownWarnings(counts: ReadonlyMap<string, number>, total: number): string[] {
  if (total < 10) return [];
  const warnings: string[] = [];
  for (const [state, count] of counts)
    if (count === total)
      warnings.push(
        `every visit is "${state}": check the columns its rule reads in receptions.sql (and their types above)`,
      );
  if (counts.get('cancelled') === 0)
    warnings.push('no visit is "cancelled": check how this clinic cancels (CanceledAt in receptions.sql)');
  return warnings;
}

/** The change selection over a day and a page of the deep window, timed. */
async function reportTimes(check: ReceptionCheck, source: SqlReceptionSource): Promise<void> {
  const started = performance.now();
  let changed = 0;
  for await (const _row of source.changedSince(
    new Date(check.serverNow.getTime() - 86_400_000),
    daysBefore(check.serverNow, check.daysBack),
  ))
    changed += 1;
  const changedMs = Math.round(performance.now() - started);
  const pageStarted = performance.now();
  let page = 0;
  for await (const _row of source.window(daysBefore(check.serverNow, check.daysBack)))
    if (++page >= 500) break;
  check.out(
    `receptions: ${changed} changed in the last 24 h, read in ${changedMs} ms; a page of the ${check.daysBack}-day window: ${page} row(s) in ${Math.round(performance.now() - pageStarted)} ms`,
  );
}

/** The latest changed visits (receptions-sample.sql), each mapped with the deal map. */
async function reportSample(
  check: ReceptionCheck,
  source: SqlReceptionSource,
  mapper: DealMapper,
): Promise<string[]> {
  const ids: string[] = [];
  for await (const row of streamRows(check.connection.request(), check.files.sample))
    ids.push(String(row.ReceptionId));
  const failures: string[] = [];
  const states: string[] = [];
  for (const id of ids) {
    const row = await source.one(id);
    if (!row) continue;
    const outcome = mapper(row);
    if (outcome.ok) states.push(outcome.deal.placement.state);
    else failures.push(`reception ${outcome.receptionId ?? '?'}: ${outcome.reason}`);
  }
  check.out(
    `  sample: the ${ids.length} most recently changed reception(s), ${ids.length - failures.length} map cleanly${states.length > 0 ? ` (${states.join(', ')})` : ''}`,
  );
  for (const failure of failures) check.out(`  - ${failure}`);
  return failures.length > 0
    ? [`${failures.length} sample reception(s) do not map; fix receptions.sql or the deal map`]
    : [];
}
