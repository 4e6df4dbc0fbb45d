import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyDbError, forTestDb, IdentDbError } from '../../src/ident/errors.ts';
import { SqlPatientSource } from '../../src/ident/patient-source.ts';
import { asWritten, loadSqlFiles } from '../../src/ident/sql-files.ts';
import { streamRows } from '../../src/ident/stream.ts';
import { FakeRequest, fakeConnection } from '../helpers/fake-sql.ts';

const db = {
  host: 'ident-server',
  port: 1433,
  instance: undefined,
  database: 'PZ',
  user: 'reader',
  password: 'secret',
  encrypt: true,
  trustServerCertificate: false,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 1000,
};
const files = loadSqlFiles();
const sql = asWritten(files);
const rowsOf = (count: number, start = 1) =>
  Array.from({ length: count }, (_, index) => ({
    PatientId: start + index,
    Surname: `S${index}`,
    ChangedAt: new Date(Date.UTC(2026, 10, 20, 10)),
  }));

async function drain<T>(iterable: AsyncIterable<T>, slow = false): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (slow && out.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return out;
}

describe('streaming rows from the driver', () => {
  it('pauses the driver when the reader falls behind, and resumes it', async () => {
    const request = new FakeRequest(() => ({ rows: rowsOf(2000) }));
    const rows = await drain(streamRows(request, 'SELECT 1', 100), true);
    assert.equal(rows.length, 2000);
    assert.ok(request.pauses > 0, 'paused');
    assert.equal(request.pauses, request.resumes);
  });

  it('keeps at most about the high-water mark of rows waiting', async () => {
    let waiting = 0;
    let most = 0;
    const request = new FakeRequest(() => ({ rows: rowsOf(3000) }));
    request.on('row', () => {
      waiting += 1;
      most = Math.max(most, waiting);
    });
    for await (const _ of streamRows(request, 'SELECT 1', 100)) {
      waiting -= 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(most <= 101, `up to ${most} rows waited in memory`);
  });

  it('hands over the rows read before an error, then the error', async () => {
    const error = Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ESOCKET' });
    const request = new FakeRequest(() => ({ rows: rowsOf(10), failAfter: 4, error }));
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const row of streamRows(request, 'SELECT 1')) seen.push(row);
    }, /ECONNRESET/);
    assert.equal(seen.length, 4);
  });

  it('cancels the query when the reader stops early', async () => {
    const request = new FakeRequest(() => ({ rows: rowsOf(1000) }));
    for await (const _ of streamRows(request, 'SELECT 1')) break;
    assert.equal(request.cancelled, true);
  });
});

describe('reading patients', () => {
  it('pages through every patient by id, whatever the page size', async () => {
    const connection = fakeConnection(rowsOf(23));
    const source = new SqlPatientSource(connection, files, sql, db, { pageSize: 5 });
    const ids = (await drain(source.all())).map((row) => row.PatientId);
    assert.deepEqual(
      ids,
      Array.from({ length: 23 }, (_, index) => index + 1),
    );
    assert.equal(connection.requests.length, 5);
    assert.deepEqual(
      connection.requests.map((request) => request.inputs.afterId),
      [0, 5, 10, 15, 20],
    );
    assert.match(connection.requests[0]!.sql, /^WITH ident_sync_selection \(PatientId\) AS \(/);
  });

  it('an id beyond the int range of IDENT names no patient, and is not sent', async () => {
    const connection = fakeConnection(rowsOf(3));
    const source = new SqlPatientSource(connection, files, sql, db);
    assert.equal(await source.one('9007199254740993'), undefined);
    assert.equal(connection.requests.length, 0);
  });

  it('passes nulls and driver types through untouched', async () => {
    const row = {
      PatientId: 1,
      Surname: null,
      Birthday: new Date(Date.UTC(1985, 2, 15)),
      Debt: 12.5,
      SmsRejection: true,
    };
    const [read] = await drain(new SqlPatientSource(fakeConnection([row]), files, sql, db).all());
    assert.deepEqual(read, row);
  });

  it('selects the changed ids once, then reads them a page at a time', async () => {
    const rows = rowsOf(9);
    rows[2]!.ChangedAt = rows[4]!.ChangedAt = rows[5]!.ChangedAt = new Date(Date.UTC(2026, 10, 21));
    rows[8]!.ChangedAt = new Date(Date.UTC(2026, 10, 22));
    const connection = fakeConnection(rows);
    const since = { at: new Date(Date.UTC(2026, 10, 21)) };
    const read = await drain(
      new SqlPatientSource(connection, files, sql, db, { pageSize: 2 }).changedSince(since),
    );
    assert.deepEqual(
      read.map((row) => row.PatientId),
      [3, 5, 6, 9],
    );
    const [selection, ...pages] = connection.requests;
    assert.equal(selection!.inputs.since, since.at);
    // Each table filtered on its DateTimeChanged alone, united once, outside the paged query.
    assert.match(selection!.sql, /WHERE pat\.DateTimeChanged >= @since\s+UNION\s/);
    assert.match(selection!.sql, /WHERE r\.DateTimeChanged >= @since\s+UNION/);
    assert.match(selection!.sql, /WHERE osr\.DateTimeChanged >= @since/);
    assert.doesNotMatch(selection!.sql, /ReceptionCanceled|DateTimeAdded/);
    assert.equal(pages.length, 2, 'two pages of two ids');
    for (const page of pages) assert.doesNotMatch(page.sql, /@since/);
    assert.deepEqual(pages[0]!.inputs.id0, 3);
  });

  it('reads one patient and the database clock with its rowversion mark', async () => {
    const clock = new Date(Date.UTC(2026, 10, 22, 12));
    const source = new SqlPatientSource(fakeConnection(rowsOf(5), { clock }), files, sql, db);
    assert.equal((await source.one('3'))?.PatientId, 3);
    assert.equal(await source.one('99'), undefined);
    assert.deepEqual(await source.now(), { at: clock, rowVersion: '00000000000007d1' });
  });

  it('turns a connection dropped mid-stream into a typed, transient error', async () => {
    const error = Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ESOCKET' });
    const connection = fakeConnection(rowsOf(20), {
      failOnQuery: (_, call) => (call === 2 ? { failAfter: 2, error } : undefined),
    });
    const source = new SqlPatientSource(connection, files, sql, db, { pageSize: 5 });
    const seen: unknown[] = [];
    await assert.rejects(
      async () => {
        for await (const row of source.all()) seen.push(row);
      },
      (thrown: IdentDbError) =>
        thrown instanceof IdentDbError && thrown.kind === 'dropped' && thrown.transient,
    );
    // Page 1 whole; page 2 failed before it was read whole, so none of it was handed on.
    assert.equal(seen.length, 5);
  });

  it('reads each page whole before handing a row on: no result set stays open while the sync waits on amoCRM', async () => {
    const connection = fakeConnection(rowsOf(12));
    const source = new SqlPatientSource(connection, files, sql, db, { pageSize: 5 });
    let rows = 0;
    for await (const _row of source.all()) {
      rows += 1;
      assert.ok(
        connection.requests.every((request) => request.finished),
        `row ${rows} was handed on while its page was still being read`,
      );
    }
    assert.equal(rows, 12);
  });
});

describe('driver errors become one sentence', () => {
  const cases: [string, unknown, string, RegExp][] = [
    [
      'refused',
      { code: 'ESOCKET', message: 'Failed to connect to ident-server:1433 - connect ECONNREFUSED' },
      'unreachable',
      /ident-server:1433; check DB_HOST and DB_PORT/,
    ],
    [
      'connect timeout',
      { code: 'ETIMEOUT', message: 'Failed to connect to ident-server:1433 in 15000ms' },
      'unreachable',
      /no answer from SQL Server at ident-server:1433/,
    ],
    [
      'login',
      { code: 'ELOGIN', number: 18456, message: "Login failed for user 'reader'." },
      'login',
      /check DB_USER and DB_PASSWORD/,
    ],
    [
      'database',
      { code: 'EREQUEST', number: 4060, message: 'Cannot open database "PZ" requested by the login.' },
      'database',
      /"PZ" does not exist .* check DB_NAME/,
    ],
    [
      'certificate',
      { code: 'ESOCKET', message: 'self-signed certificate' },
      'tls',
      /DB_TRUST_SERVER_CERTIFICATE=true/,
    ],
    [
      'request timeout',
      { code: 'ETIMEOUT', message: 'Timeout: Request failed to complete in 120000ms' },
      'timeout',
      /DB_REQUEST_TIMEOUT_SECONDS/,
    ],
    [
      'deadlock',
      { code: 'EREQUEST', number: 1205, message: 'Transaction (Process ID 57) was deadlocked' },
      'deadlock',
      /deadlock victim/,
    ],
    [
      'dropped',
      { code: 'ECONNCLOSED', message: 'Connection is closed.' },
      'dropped',
      /connection to SQL Server was lost/,
    ],
    [
      'instance',
      { code: 'EINSTLOOKUP', message: 'Failed to get response from SQL Server Browser' },
      'unreachable',
      /SQL Server Browser service on ident-server \(UDP 1434\) gave no port for the instance .*set DB_PORT/,
    ],
    [
      'SELECT permission denied (229): named as such, with the table and what to grant',
      {
        code: 'EREQUEST',
        number: 229,
        message: "The SELECT permission was denied on the object 'Receptions', database 'PZ', schema 'dbo'.",
      },
      'permission',
      /^the login may not read the table Receptions \(SELECT permission denied, SQL error 229\); grant .*SELECT/,
    ],
    [
      'missing column',
      { code: 'EREQUEST', number: 207, message: "Invalid column name 'Sex'." },
      'schema',
      /run `ident-sync test-db`/,
    ],
  ];
  it('a named instance that gets no answer in time names SQL Server Browser and UDP 1434', () => {
    const error = classifyDbError(
      Object.assign(new Error('Failed to connect to ident-server\\PZSQLSERVER in 15000ms'), {
        code: 'ETIMEOUT',
      }),
      { ...db, port: undefined, instance: 'PZSQLSERVER' },
    );
    assert.equal(error.kind, 'unreachable');
    assert.match(
      error.message,
      /ident-server\\PZSQLSERVER.*SQL Server Browser service \(UDP 1434\).*set DB_PORT/,
    );
  });

  it('inside test-db, an error never sends a person to run test-db', () => {
    for (const raw of [
      { code: 'EREQUEST', number: 207, message: "Invalid column name 'Sex'." },
      { code: 'EREQUEST', number: 8120, message: 'Column is invalid in the select list' },
    ]) {
      const error = forTestDb(classifyDbError(Object.assign(new Error(raw.message), raw), db)) as Error;
      assert.doesNotMatch(error.message, /test-db/);
      assert.match(error.message, /SQL file|SQL_DIR/);
    }
  });

  for (const [name, raw, kind, message] of cases) {
    it(name, () => {
      const error = classifyDbError(
        Object.assign(new Error(String((raw as { message: string }).message)), raw),
        db,
      );
      assert.equal(error.kind, kind);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /secret/);
    });
  }
});
