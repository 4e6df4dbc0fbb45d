import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SQL_DIR } from '../../src/config/config.ts';
import { lintDaemonSql, parseTsql, referencedColumns } from '../../src/ident/sql-analysis.ts';
import { composePatientQuery, loadSqlFiles } from '../../src/ident/sql-files.ts';
import { shippedMap } from '../helpers/map.ts';

const files = loadSqlFiles();
const daemonFiles = readdirSync(DEFAULT_SQL_DIR).filter((name) => name.endsWith('.sql'));

describe('the SQL the daemon runs', () => {
  for (const name of daemonFiles) {
    it(`${name} parses as T-SQL for SQL Server 2012+, and only reads`, () => {
      assert.deepEqual(lintDaemonSql(readFileSync(join(DEFAULT_SQL_DIR, name), 'utf8')), []);
    });
  }

  it('parses as composed (selection CTE + patient query)', () => {
    for (const selections of [
      [files.selectChanged, files.selectActivity],
      [files.selectAll],
      [files.selectOne],
    ]) {
      assert.deepEqual(lintDaemonSql(composePatientQuery(files, selections)), []);
    }
  });

  it('the check catches other dialects, newer syntax and writes', () => {
    const bad: [string, RegExp][] = [
      ['SELECT p.ID FROM dbo.Persons AS p LIMIT 10', /LIMIT is not T-SQL/],
      ["SELECT STRING_AGG(p.Name, N',') FROM dbo.Persons AS p", /STRING_AGG needs SQL Server 2017/],
      ['SELECT TRIM(p.Name) FROM dbo.Persons AS p', /TRIM needs SQL Server 2017/],
      ["SELECT CONCAT_WS(N' ', p.Surname, p.Name) FROM dbo.Persons AS p", /CONCAT_WS/],
      ['SELECT p.Name || p.Surname FROM dbo.Persons AS p', /\|\| is not string concatenation/],
      ['SELECT `Name` FROM Persons', /backquotes/],
      ['UPDATE dbo.Patients SET Comment = NULL', /read-only/],
      ['SELECT p.ID INTO #copy FROM dbo.Persons AS p', /read-only/],
      ['SELECT FROM WHERE', /does not parse as T-SQL/],
    ];
    for (const [sql, problem] of bad) assert.match(lintDaemonSql(sql).join('; '), problem, sql);
    assert.deepEqual(
      lintDaemonSql("SELECT LTRIM(RTRIM(p.Name)) AS N FROM dbo.Persons AS p WHERE p.Name <> N'LIMIT 5'"),
      [],
    );
  });

  it('produces every column alias the map refers to', () => {
    const aliases = new Set(
      [...files.patients.matchAll(/\bAS\s+(\w+)\s*,?\s*$/gim)].map((match) => match[1]!),
    );
    const map = shippedMap();
    const sources = [
      ...map.fields.map((field) => field.source),
      ...map.fields.flatMap((field) => field.when?.map((rule) => rule.present) ?? []),
      ...map.contact.phones.map((phone) => phone.source),
      ...map.contact.emails.map((email) => email.source),
      map.contact.first_name!.source,
      map.contact.last_name!.source,
      ...[...map.contact.name.template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!),
    ];
    const missing = sources.filter((source) => !aliases.has(source));
    assert.deepEqual(missing, []);
  });

  it('names the tables and columns it reads, aliases resolved', () => {
    const used = referencedColumns(composePatientQuery(files, [files.selectAll]));
    assert.deepEqual([...used.get('Persons')!].slice(0, 6), [
      'Surname',
      'Name',
      'Patronymic',
      'MobilePhone',
      'Phone',
      'ID',
    ]);
    assert.ok(used.get('Patients')!.has('DateTimeChanged'));
    assert.ok(!used.has('ident_sync_selection'));
    assert.ok(!used.has('visits'), 'derived tables are not tables');
  });

  it('keeps every unconfirmed column inside the marked block', () => {
    const text = files.patients;
    const start = text.indexOf('▼▼▼ UNCONFIRMED ▼▼▼');
    const end = text.indexOf('▲▲▲ UNCONFIRMED ▲▲▲');
    assert.ok(start > 0 && end > start);
    const outside = text.slice(0, start) + text.slice(end);
    for (const guessed of [
      'p.Sex',
      'p.Birthday',
      'p.Email',
      'p.City',
      'p.Address',
      'p.INN',
      'p.SNILS',
      'p.Passport',
      'ArchivingReasons',
      'InfoSources',
      'ServiceItemPrices',
    ]) {
      assert.ok(!outside.includes(guessed), `${guessed} appears outside the UNCONFIRMED block`);
    }
  });
});

describe('the test IDENT database', () => {
  for (const name of ['schema.sql', 'seed.sql']) {
    it(`sql/test/${name} parses statement by statement`, () => {
      const text = readFileSync(join(DEFAULT_SQL_DIR, 'test', name), 'utf8').replace(/--[^\n]*/g, '');
      const statements = text
        .split(/;\s*\n/)
        .map((statement) => statement.trim())
        .filter(Boolean);
      assert.ok(statements.length > 5);
      for (const statement of statements)
        assert.doesNotThrow(() => parseTsql(statement), statement.slice(0, 80));
    });
  }
});
