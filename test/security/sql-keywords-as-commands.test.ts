/**
 * Attack a8: SQL Server ends a number where a letter begins (`SELECT 5JobTitle` is `5 AS JobTitle`)
 * and a reserved keyword cannot be an alias, so `1SHUTDOWN` is the number 1 followed by a SHUTDOWN
 * statement. The write-word regex needs a word boundary (there is none between `1` and `S`) and
 * node-sql-parser takes SHUTDOWN for a column alias: the check passes and the text is sent.
 * Reserved words node-sql-parser accepts as a table alias (CHECKPOINT, ROLLBACK…) start a second
 * statement the same way, without any glue.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqlPatientSource } from '../../src/ident/patient-source.ts';
import { readOnlyProblems } from '../../src/ident/sql-analysis.ts';
import { asWritten, loadSqlFiles } from '../../src/ident/sql-files.ts';
import { fakeConnection } from '../helpers/fake-sql.ts';

const db = {
  host: 'ident-server',
  port: 1433,
  instance: undefined,
  database: 'PZ',
  user: 'sa',
  password: 'secret',
  encrypt: true,
  trustServerCertificate: false,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 1000,
};

describe('read-only SQL: a reserved keyword or a number glued to a word never passes as an alias', () => {
  for (const text of [
    'SELECT 1SHUTDOWN',
    'SELECT 0xSHUTDOWN',
    'SELECT 1eSHUTDOWN',
    'SELECT 1 AS a, 2RECONFIGURE',
    'SELECT a.x FROM dbo.Patients AS a, dbo.Persons CHECKPOINT',
    'SELECT x FROM dbo.Patients ROLLBACK',
    'SELECT x FROM dbo.Patients SETUSER',
  ])
    it(`refuses ${text}`, () => {
      assert.notDeepEqual(readOnlyProblems(text), [], `${text} passed the read-only check`);
    });

  it('never sends a clock.sql that ends in 1SHUTDOWN', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'a8-sql-'));
    cpSync(join(import.meta.dirname, '../../sql'), dir, { recursive: true });
    const clock = join(dir, 'clock.sql');
    writeFileSync(
      clock,
      readFileSync(clock, 'utf8').replace('AS DbRowVersion;', 'AS DbRowVersion, 1SHUTDOWN;'),
    );
    let sent: string;
    try {
      const files = loadSqlFiles(dir); // the load-time check
      const connection = fakeConnection([]);
      const source = new SqlPatientSource(connection, files, asWritten(files), db);
      await source.now(); // the gate right before sending
      sent = connection.requests.map((request) => request.sql).join('\n');
    } catch {
      return; // refused somewhere: held
    }
    assert.fail(`sent to IDENT: ${sent.split('\n').find((line) => line.includes('SHUTDOWN'))}`);
  });
});

describe('read-only SQL: the refusal names the keyword and its line', () => {
  it('names CHECKPOINT on line 2', () => {
    const [problem] = readOnlyProblems('SELECT x\nFROM dbo.Patients CHECKPOINT');
    assert.equal(problem?.line, 2);
    assert.match(problem!.message, /^CHECKPOINT is a T-SQL reserved keyword/);
  });
  it('keeps a reserved word in [brackets] or a literal as a name', () => {
    assert.deepEqual(readOnlyProblems("SELECT x AS [Key], 'SHUTDOWN' AS y FROM dbo.Patients"), []);
  });
  it('refuses a hex literal glued to a word', () => {
    assert.notDeepEqual(readOnlyProblems('SELECT 0xABCDEFSHUTDOWN'), []);
  });
});
