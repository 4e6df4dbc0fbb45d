// Ways around the read-only SQL check an attacker tried that it refuses; kept so they stay refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOnlyProblems } from '../../src/ident/sql-analysis.ts';

const REFUSED: [string, string][] = [
  [
    'issue 22 item 12 payload',
    'SELECT SYSDATETIME() AS DbNow, 0 AS [pad--]; DELETE FROM dbo.Patients; SELECT 1 AS [x\n];',
  ],
  [']] inside brackets', 'SELECT 1 AS [a]]--]\nDELETE FROM dbo.Patients'],
  ['"" inside quotes', 'SELECT 1 AS "a""--"\nDELETE FROM dbo.Patients'],
  ["'' inside N literal", "SELECT N'a''--' AS x DELETE FROM dbo.Patients"],
  ['nested block comment', 'SELECT 1 AS a /* /* */ DELETE FROM dbo.Patients */'],
  ['unterminated block', 'SELECT 1 AS a /* DELETE'],
  ['unterminated bracket', 'SELECT 1 AS [a DELETE'],
  ['line comment at CR then code', 'SELECT 1 AS a --x\rDELETE FROM dbo.Patients'],
  ['INTO[x]', 'SELECT 1 AS a INTO[x]'],
  ['INTO"x"', 'SELECT 1 AS a INTO"x"'],
  ['INTO#t', 'SELECT 1 AS a INTO#t'],
  ['EXEC(@x)', "SELECT 1 AS a EXEC('DELETE FROM dbo.Patients')"],
  ['sp_executesql', "SELECT 1 AS a sp_executesql N'x'"],
  ['OPENROWSET', "SELECT * FROM OPENROWSET('SQLNCLI', 'x', 'EXEC xp_cmdshell 1')"],
  ['OPENQUERY', "SELECT * FROM OPENQUERY(srv, 'x')"],
  ['OPENDATASOURCE', "SELECT * FROM OPENDATASOURCE('x','y').db.dbo.t"],
  ['UPDATE in CTE', 'WITH c AS (SELECT 1 AS a) UPDATE c SET a = 2'],
  [
    'MERGE',
    'MERGE dbo.Patients AS t USING (SELECT 1 AS a) AS s ON 1 = 0 WHEN NOT MATCHED THEN INSERT (a) VALUES (1);',
  ],
  ['OUTPUT clause', 'DELETE FROM dbo.Patients OUTPUT deleted.*'],
  ['DISABLE TRIGGER (no listed keyword)', 'SELECT 1 AS a DISABLE TRIGGER ALL ON dbo.Patients'],
  ['BEGIN TRAN', 'SELECT 1 AS a BEGIN TRAN'],
  ['SET', 'SELECT 1 AS a SET LOCK_TIMEOUT 0'],
  ['DECLARE', 'SELECT 1 AS a DECLARE @x int'],
  ['GO', 'SELECT 1 AS a\nGO\nSELECT 2 AS b'],
  ['NBSP before DELETE', 'SELECT 1 AS a\u00a0DELETE FROM dbo.Patients'],
  ['two SELECTs without semicolon', 'SELECT 1 AS a SELECT 2 AS b'],
];

describe('read-only SQL: bypass attempts stay refused', () => {
  for (const [name, sql] of REFUSED)
    it(`refuses: ${name}`, () => assert.ok(readOnlyProblems(sql).length > 0, JSON.stringify(sql)));
});
