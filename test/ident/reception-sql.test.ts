/**
 * The reception SQL as text: what IDENT's real data needs of it (issue 19, items 9–12), checked
 * without a SQL Server. test/ident/sqlserver.test.ts runs the same against one where Docker is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SQL_DIR } from '../../src/config/config.ts';
import { overdueHours } from '../../src/mapping/deal-map.ts';
import { loadReceptionSql, prepareReceptionSql } from '../../src/ident/reception-sql.ts';
import { SqlReceptionSource } from '../../src/ident/reception-source.ts';
import { columnsBehind, referencedColumns, stripComments } from '../../src/ident/sql-analysis.ts';
import { guessesIn, loadSqlFiles } from '../../src/ident/sql-files.ts';
import { FakeRequest } from '../helpers/fake-sql.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';

const files = loadReceptionSql(DEFAULT_SQL_DIR);
/** A connection that answers every query with no rows and keeps the requests sent. */
const recording = () => {
  const requests: FakeRequest[] = [];
  const connection = {
    request() {
      const request = new FakeRequest(() => ({ rows: [] }));
      requests.push(request);
      return request;
    },
    async close() {},
  };
  return { requests, connection };
};
const code = (sql: string) => stripComments(sql).replace(/\s+/g, ' ');
const names = (columns: { table: string; column: string }[] | undefined) =>
  (columns ?? []).map((column) => `${column.table}.${column.column}`).sort();

describe('the reception SQL and what real IDENT data holds', () => {
  it('cancelled is a cancel stamp or a cancel reason (ID_ReceptionCancelReasons), each without the other', () => {
    const behind = columnsBehind(files.receptions, ['CanceledAt']);
    assert.ok(names(behind.get('CanceledAt')).includes('Receptions.ReceptionCanceled'));
    assert.ok(names(behind.get('CanceledAt')).includes('Receptions.ID_ReceptionCancelReasons'));
    // A visit cancelled by reason is no earlier visit: it does not make the next one a repeat.
    assert.match(code(files.receptions), /prev\.ID_ReceptionCancelReasons IS NULL/);
  });

  it('the reason text comes from its lookup table, a guess that runs as NULL where missing; no Receptions.CancelReason', () => {
    const used = referencedColumns(files.receptions);
    assert.ok(!used.get('Receptions')?.has('CancelReason'), 'Receptions.CancelReason exists in no source');
    const guess = guessesIn(files.receptions).find((candidate) => candidate.alias === 'CancelReason');
    assert.deepEqual(names(guess?.needs), ['ReceptionCancelReasons.ID', 'ReceptionCancelReasons.Name']);
    assert.match(guess!.fallbackLine, /CAST\(NULL AS nvarchar\(\d+\)\) AS CancelReason/);
  });

  it('a reception without a patient is left out of every page', () => {
    assert.match(code(files.receptions), /WHERE .*AND r\.ID_Patients IS NOT NULL/);
    assert.match(code(files.sample), /r\.ID_Patients IS NOT NULL/);
  });

  it('a reception without its doctor or chair takes them from its slot in CurrentTimeTable, read only then', () => {
    const text = code(files.receptions);
    assert.deepEqual([...(referencedColumns(files.receptions).get('CurrentTimeTable') ?? [])].sort(), [
      'ID_Armchairs',
      'ID_Receptions',
      'ID_Staffs',
    ]);
    assert.match(text, /doc\.ID = COALESCE\(r\.ID_Staffs, slot\.ID_Staffs\)/);
    assert.match(text, /chair\.ID = COALESCE\(r\.ID_Armchairs, slot\.ID_Armchairs\)/);
    assert.match(text, /\(r\.ID_Staffs IS NULL OR r\.ID_Armchairs IS NULL\)/);
  });

  it('contacts and deals name a branch with one expression (BranchName where set, else Name)', () => {
    const branchOf = (sql: string) =>
      /COALESCE\(NULLIF\(LTRIM\(RTRIM\((\w+)\.BranchName\)\), N''\), (\w+)\.Name\)/.exec(code(sql));
    const patients = branchOf(loadSqlFiles(DEFAULT_SQL_DIR).patients);
    const receptions = branchOf(files.receptions);
    assert.ok(patients && receptions, 'both use COALESCE(NULLIF(LTRIM(RTRIM(x.BranchName)), N), x.Name)');
    assert.equal(receptions[1], receptions[2]);
    const guess = guessesIn(files.receptions).find((candidate) => candidate.alias === 'Branch');
    assert.deepEqual(names(guess?.needs), ['OwnCompanies.BranchName']);
  });

  it('every character FOR XML refuses (CHAR 1–31 but tab, LF, CR) is taken out of a service name first', () => {
    const services = files.receptions.split('\n').find((line) => /AS Services/.test(line))!;
    const stripped = [...services.matchAll(/REPLACE\(/g)].length;
    const codes = [...services.matchAll(/NCHAR\((\d+)\), N''\)/g)].map((match) => Number(match[1]));
    const refused = Array.from({ length: 31 }, (_, index) => index + 1).filter(
      (char) => ![9, 10, 13].includes(char),
    );
    assert.deepEqual(
      [...codes].sort((a, b) => a - b),
      refused,
    );
    assert.equal(stripped, refused.length);
    assert.match(services, /si\.Name COLLATE Latin1_General_BIN2/, 'REPLACE sees them in a binary collation');
  });
});

describe('newly overdue visits are selected each run', () => {
  it('the change selection picks visits whose planned end passed @noShowHours ago since the last run', () => {
    assert.match(
      code(files.selectChanged),
      /due\.PlanEnd >= DATEADD\(hour, -@noShowHours - 1, @since\) AND due\.PlanEnd < DATEADD\(hour, -@noShowHours, GETDATE\(\)\)/,
    );
  });

  it("the source sends the deal map's no-show hours with the change selection", async () => {
    const hours = overdueHours(shippedDealMap());
    assert.equal(hours, 3);
    const { requests, connection } = recording();
    const prepared = { receptions: files.receptions, emptied: [] };
    const db = { host: 'h', port: 1433, instance: undefined, database: 'PZ', user: 'u' } as never;
    const source = new SqlReceptionSource(connection, files, prepared, db, { noShowHours: hours });
    for await (const _row of source.changedSince(new Date(), new Date())) assert.fail('no rows');
    assert.equal(requests[0]!.inputs.noShowHours, 3);
    // Without a no-show rule the hours are NULL: that part of the selection finds nothing.
    const without = new SqlReceptionSource(connection, files, prepared, db);
    for await (const _row of without.changedSince(new Date(), new Date())) assert.fail('no rows');
    assert.equal(requests[1]!.inputs.noShowHours, null);
  });
});

describe("the clinic server's cost", () => {
  it('a deep sync selects the window once, then reads its receptions a page of ids at a time', async () => {
    const requests: FakeRequest[] = [];
    const connection = {
      request() {
        const request = new FakeRequest((self) => {
          if (/AS sel \(ReceptionId\)/.test(self.sql))
            return { rows: [1, 2, 3, 4, 5, 6, 7].map((id) => ({ ReceptionId: id })) };
          const ids = Object.entries(self.inputs)
            .filter(([name]) => /^id\d+$/.test(name))
            .map(([, value]) => ({ ReceptionId: Number(value), PatientId: 1 }));
          // Paged by keyset, a page is the next ids after @afterId.
          if (ids.length > 0) return { rows: ids };
          const after = Number(self.inputs.afterId ?? 0);
          const page = [1, 2, 3, 4, 5, 6, 7]
            .filter((id) => id > after)
            .slice(0, Number(self.inputs.pageSize));
          return { rows: page.map((id) => ({ ReceptionId: id, PatientId: 1 })) };
        });
        requests.push(request);
        return request;
      },
      async close() {},
    };
    const db = { host: 'h', port: 1433, instance: undefined, database: 'PZ', user: 'u' } as never;
    const source = new SqlReceptionSource(
      connection,
      files,
      { receptions: files.receptions, emptied: [] },
      db,
      {
        pageSize: 3,
      },
    );
    const read: number[] = [];
    for await (const row of source.window(new Date())) read.push(Number(row.ReceptionId));
    assert.deepEqual(read, [1, 2, 3, 4, 5, 6, 7]);
    const windowRuns = requests.filter((request) => /r\.PlanStart >= @windowStart/.test(request.sql));
    assert.equal(windowRuns.length, 1, 'the PlanStart range is evaluated once, not for every page');
    assert.equal(requests.length, 4, 'one selection and three pages of ids');
  });
});

describe('changed visits by Receptions.RowVersion, where the database has it', () => {
  const db = { host: 'h', port: 1433, instance: undefined, database: 'PZ', user: 'u' } as never;

  it('prepared only where Receptions.RowVersion exists', () => {
    assert.ok(files.selectChangedRowVersion, 'the release ships the rowversion selection');
    const withIt = prepareReceptionSql(files, () => true);
    assert.match(withIt.rowVersionSelection ?? '', /r\.RowVersion >= @sinceRowVersion/);
    const without = prepareReceptionSql(
      files,
      (column) => !(column.table === 'Receptions' && column.column === 'RowVersion'),
    );
    assert.equal(without.rowVersionSelection, undefined);
  });

  it('selects by the mark beside DateTimeChanged; never without a mark (it would pick every visit)', async () => {
    const { requests, connection } = recording();
    const source = new SqlReceptionSource(
      connection,
      files,
      prepareReceptionSql(files, () => true),
      db,
    );
    for await (const _row of source.changedSince(new Date(), new Date(), '00000000000007d1')) assert.fail();
    assert.match(requests[0]!.sql, /RowVersion >= @sinceRowVersion/);
    assert.match(requests[0]!.sql, /DateTimeChanged >= @since/);
    assert.deepEqual(requests[0]!.inputs.sinceRowVersion, Buffer.from('00000000000007d1', 'hex'));
    for await (const _row of source.changedSince(new Date(), new Date())) assert.fail();
    assert.doesNotMatch(requests[1]!.sql, /RowVersion/);
  });
});
