/**
 * `ident-sync test-db` for visits against a stand-in connection (issue 19, items 14 and 15): the
 * types behind the stage rules, the cancel reasons, table sizes and indexes, the last 30 days by
 * state, and the sample of the latest changed visits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkReceptions,
  breakdownWarnings,
  suggestInterval,
} from '../../src/cli/commands/test-db-receptions.ts';
import { DEFAULT_SQL_DIR } from '../../src/config/config.ts';
import { loadReceptionSql, prepareReceptionSql } from '../../src/ident/reception-sql.ts';
import { FakeRequest } from '../helpers/fake-sql.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';

type Row = Record<string, unknown>;
const files = loadReceptionSql(DEFAULT_SQL_DIR);
// IDENT's clock (wall clock in UTC fields) and the instant: 12:00 in Moscow.
const serverNow = new Date(Date.UTC(2026, 10, 22, 12));
const now = new Date(Date.UTC(2026, 10, 22, 9));
const daysAgo = (days: number, hour = 10) =>
  new Date(serverNow.getTime() - days * 86_400_000 + (hour - 12) * 3_600_000);

const visit = (id: number, days: number, state: Row = {}): Row => ({
  ReceptionId: id,
  PatientId: 100 + id,
  PlanStart: daysAgo(days),
  PlanEnd: daysAgo(days, 11),
  CanceledAt: null,
  EndedAt: null,
  ArrivedAt: null,
  CancelReason: null,
  PreviousVisitAt: null,
  ChangedAt: daysAgo(days, 12),
  ...state,
});

const VISITS = [
  ...Array.from({ length: 8 }, (_, index) =>
    visit(index + 1, index + 1, { ArrivedAt: daysAgo(index + 1), EndedAt: daysAgo(index + 1, 11) }),
  ),
  visit(9, 2, { CanceledAt: daysAgo(3), CancelReason: 'Заболел' }),
  visit(10, 3, { CanceledAt: daysAgo(3), CancelReason: 'Неявка' }),
  visit(11, 4), // still booked, four days on: a no-show
  visit(12, -2), // ahead: not counted
  visit(13, 40, { EndedAt: daysAgo(40, 11) }), // before the 30 days
];

const DATE_COLUMNS = [
  'PlanStart',
  'PlanEnd',
  'PatientAppeared',
  'ReceptionStarted',
  'ReceptionEnded',
  'CheckIssued',
  'ReceptionCanceled',
  'DateTimeChanged',
];

/** Answers the queries checkReceptions sends, by their text. */
function fakeIdent(options: { checkIssued?: string; indexed?: string[]; sample?: number[] } = {}) {
  const sent: string[] = [];
  const answer = (request: FakeRequest): { rows: Row[] } => {
    const sql = request.sql;
    sent.push(sql);
    // A database whose cancel reasons live under another name than the guessed one.
    if (/LIKE N'%Cancel%'/.test(sql))
      return { rows: [{ TABLE_NAME: 'CancelReasonsDictionary', COLUMN_NAME: 'Title' }] };
    if (/INFORMATION_SCHEMA/.test(sql))
      return {
        rows: DATE_COLUMNS.map((column) => ({
          TABLE_NAME: 'Receptions',
          COLUMN_NAME: column,
          DATA_TYPE: column === 'CheckIssued' ? (options.checkIssued ?? 'datetime') : 'datetime',
        })),
      };
    if (/sys\.partitions/.test(sql))
      return {
        rows: [
          { TableName: 'Receptions', TableRows: 250_000 },
          { TableName: 'Orders', TableRows: 90_000 },
        ],
      };
    if (/sys\.indexes/.test(sql))
      return {
        rows: (options.indexed ?? ['Receptions.DateTimeChanged']).map((key) => ({
          TableName: key.split('.')[0],
          ColumnName: key.split('.')[1],
          IndexName: `IX_${key}`,
        })),
      };
    if (sql === files.sample)
      return { rows: (options.sample ?? [10, 11]).map((id) => ({ ReceptionId: id })) };
    if (/AS sel \(ReceptionId\)/.test(sql)) {
      // The deep window's selection (@windowStart), or the change selection (everything here).
      const start = request.inputs.since === undefined ? request.inputs.windowStart : undefined;
      return {
        rows: VISITS.filter((row) => !(start instanceof Date) || (row.PlanStart as Date) >= start).map(
          (row) => ({ ReceptionId: row.ReceptionId }),
        ),
      };
    }
    const inputs = request.inputs;
    const ids = Object.entries(inputs)
      .filter(([name]) => /^id\d+$/.test(name))
      .map(([, value]) => Number(value));
    let rows = VISITS.filter((row) => Number(row.ReceptionId) > Number(inputs.afterId ?? 0));
    if (ids.length > 0) rows = rows.filter((row) => ids.includes(Number(row.ReceptionId)));
    if (inputs.receptionId !== undefined) rows = rows.filter((row) => row.ReceptionId === inputs.receptionId);
    if (inputs.windowStart instanceof Date)
      rows = rows.filter((row) => (row.PlanStart as Date) >= (inputs.windowStart as Date));
    return { rows: rows.slice(0, Number(inputs.pageSize ?? rows.length)) };
  };
  return { sent, connection: { request: () => new FakeRequest(answer), async close() {} } };
}

async function run(options: Parameters<typeof fakeIdent>[0] = {}, emptied: string[] = []) {
  const { connection, sent } = fakeIdent(options);
  const lines: string[] = [];
  const failures = await checkReceptions({
    connection,
    db: { host: 'ident', port: 1433, instance: undefined, database: 'PZ', user: 'reader' } as never,
    map: shippedDealMap(),
    files,
    prepared: prepareReceptionSql(files, (column) => !emptied.includes(`${column.table}.${column.column}`)),
    serverNow,
    now,
    daysBack: 365,
    timeZone: 'Europe/Moscow',
    syncIntervalMinutes: 2,
    out: (line = '') => lines.push(line),
  });
  return { failures, text: lines.join('\n'), sent };
}

describe('test-db for visits', () => {
  it('says plainly when a column a stage rule reads is not a date (CheckIssued as a bit)', async () => {
    const fine = await run();
    assert.deepEqual(fine.failures, []);
    assert.match(
      fine.text,
      /stages: +the columns the stage rules read are dates \(.*Receptions\.CheckIssued/,
    );
    const bit = await run({ checkIssued: 'bit' });
    assert.match(
      bit.text,
      /Receptions\.CheckIssued is bit, not a date \(it feeds EndedAt\).*every visit would count as such/,
    );
    assert.equal(bit.failures.length, 1);
    assert.match(bit.failures[0]!, /not dates; compare them in receptions\.sql/);
  });

  it('breaks the last 30 days down by state, as the deal map places them', async () => {
    const { text } = await run();
    assert.match(
      text,
      /visits: +the last 30 days: 11 — no_show 2, cancelled 1, ended 8, arrived 0, booked 0/,
    );
  });

  it('warns when one state holds every visit or nothing is cancelled', () => {
    const counts = new Map([
      ['cancelled', 0],
      ['ended', 20],
      ['booked', 0],
    ]);
    assert.deepEqual(breakdownWarnings(counts, 20), [
      'every visit is "ended": check the columns its rule reads in receptions.sql (and their types above)',
      'no visit is "cancelled": check how this clinic cancels (CanceledAt in receptions.sql)',
    ]);
    assert.deepEqual(breakdownWarnings(counts, 5), [], 'too few visits to judge');
  });

  it('counts rows from the catalogue and warns of each filtered column without an index, with an interval', async () => {
    const { text, sent } = await run();
    assert.match(text, /tables: +Orders 90,000 rows, Receptions 250,000 rows/);
    assert.match(
      text,
      /warning: no index leads with Receptions\.PlanStart: reads by it scan all 250,000 rows of Receptions; on a busy server set SYNC_INTERVAL_MINUTES=15 \(now 2\)/,
    );
    assert.match(text, /no index leads with Orders\.ID_Receptions/);
    assert.doesNotMatch(text, /no index leads with Receptions\.DateTimeChanged/);
    assert.ok(!sent.some((sql) => /\bCOUNT(_BIG)?\s*\(/i.test(sql)), 'no table is counted by scanning it');
    assert.equal(suggestInterval(50_000, 2), '');
    assert.equal(suggestInterval(5_000_000, 2).includes('SYNC_INTERVAL_MINUTES=60'), true);
  });

  it('says when the cancel reason text is missing: cancelled still counts, no reason marks a no-show', async () => {
    const { text } = await run({}, ['ReceptionCancelReasons.Name']);
    assert.match(
      text,
      /cancels: +the text of a cancel reason is not found here .* no reason can mark a no_show/,
    );
    assert.match(
      text,
      /tables here named like it, with their text columns:\n +CancelReasonsDictionary: Title/,
    );
    const found = await run();
    assert.match(
      found.text,
      /cancels: +cancelled = a cancel stamp or a cancel reason; the reason text is read/,
    );
  });

  it('the sample is the latest changed visits (receptions-sample.sql), each mapped', async () => {
    const { text, sent } = await run({ sample: [10, 11, 3] });
    assert.ok(sent.includes(files.sample));
    assert.match(
      text,
      /sample: the 3 most recently changed reception\(s\), 3 map cleanly \(no_show, no_show, ended\)/,
    );
  });
});
