import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SQL_DIR } from '../../src/config/config.ts';
import { cpSync, writeFileSync } from 'node:fs';
import type { ActionableError } from '../../src/errors.ts';
import { unknownSources } from '../../src/ident/map-check.ts';
import {
  lintDaemonSql,
  outputAliases,
  parseTsql,
  readOnlyProblems,
  referencedColumns,
  stripComments,
} from '../../src/ident/sql-analysis.ts';
import {
  asWritten,
  composeIdQuery,
  composePatientQuery,
  guessesIn,
  idsSelection,
  loadSqlFiles,
  prepareSql,
  readOnlyForServer,
} from '../../src/ident/sql-files.ts';
import {
  ROLES_QUERY,
  rolesFrom,
  tablesQuery,
  writableTablesFrom,
  writeRightsWarning,
} from '../../src/ident/sql-login-rights.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';

const files = loadSqlFiles();
const daemonFiles = readdirSync(DEFAULT_SQL_DIR).filter((name) => name.endsWith('.sql'));

const messages = (sql: string) => lintDaemonSql(sql).map((problem) => problem.message);

describe('the SQL the daemon runs', () => {
  for (const name of daemonFiles) {
    it(`${name} parses as T-SQL for SQL Server 2012+, and only reads`, () => {
      assert.deepEqual(lintDaemonSql(readFileSync(join(DEFAULT_SQL_DIR, name), 'utf8')), []);
    });
  }

  it('parses as composed: each selection in the CTE of the patient query, and the change ids united', () => {
    for (const selection of [
      files.selectChanged,
      files.selectActivity,
      files.selectAll,
      files.selectOne,
      idsSelection(3),
    ])
      assert.deepEqual(lintDaemonSql(composePatientQuery(files.patients, selection)), []);
    assert.deepEqual(
      lintDaemonSql(
        composeIdQuery([
          files.selectChanged,
          files.selectActivity,
          files.selectChangedPersons,
          files.selectChangedPersonsRowVersion,
        ]),
      ),
      [],
    );
    assert.match(
      composePatientQuery(files.patients, files.selectAll),
      /^WITH ident_sync_selection \(PatientId\) AS \(/,
    );
  });

  it('a selection ending in a semicolon and a comment still nests', () => {
    const selection = `${files.selectChanged.trim()};\n-- a note the integrator left\n`;
    assert.deepEqual(lintDaemonSql(composePatientQuery(files.patients, selection)), []);
  });

  it('the check catches other dialects, newer syntax, writes, procedures and second statements, with the line', () => {
    const bad: [string, RegExp][] = [
      ['SELECT p.ID FROM dbo.Persons AS p LIMIT 10', /LIMIT is not T-SQL/],
      ["SELECT STRING_AGG(p.Name, N',') FROM dbo.Persons AS p", /STRING_AGG needs SQL Server 2017/],
      ['SELECT TRIM(p.Name) FROM dbo.Persons AS p', /TRIM needs SQL Server 2017/],
      ["SELECT CONCAT_WS(N' ', p.Surname, p.Name) FROM dbo.Persons AS p", /CONCAT_WS/],
      ['SELECT p.Name || p.Surname FROM dbo.Persons AS p', /\|\| is not string concatenation/],
      ['SELECT `Name` FROM Persons', /backquotes/],
      ['UPDATE dbo.Patients SET Comment = NULL', /read-only/],
      ['DELETE FROM dbo.Patients', /read-only/],
      ['DROP TABLE dbo.Patients', /read-only/],
      ["EXEC xp_cmdshell 'dir'", /read-only/],
      ['SELECT p.ID INTO #copy FROM dbo.Persons AS p', /read-only/],
      ['SELECT p.ID FROM dbo.Persons AS p; SELECT 1 AS x', /semicolon ends the statement/],
      ['SELECT FROM WHERE', /does not parse as T-SQL/],
      [
        'SELECT pat.ID_Persons FROM dbo.Patients AS pat JOIN dbo.Persons AS p ON p.ID = pat.ID_Persons WHERE DateTimeChangedTypo >= @since',
        /column DateTimeChangedTypo is not qualified/,
      ],
    ];
    for (const [sql, problem] of bad) assert.match(messages(sql).join('; '), problem, sql);
    assert.deepEqual(
      lintDaemonSql(
        "SELECT LTRIM(RTRIM(p.Name)) AS N FROM dbo.Persons AS p WHERE p.Name <> N'LIMIT 5 -- DELETE'",
      ),
      [],
    );
    assert.equal(
      lintDaemonSql(
        '-- a comment\nSELECT p.ID FROM dbo.Persons AS p\n-- and\nUPDATE dbo.Persons SET Name = 1',
      )[0]!.line,
      4,
    );
  });

  it("a column named without its table is the one table's in a single-table query", () => {
    const used = referencedColumns('SELECT ID_Persons FROM dbo.Patients WHERE DateTimeChangedTypo >= @since');
    assert.deepEqual([...used.get('Patients')!].sort(), ['DateTimeChangedTypo', 'ID_Persons']);
  });

  it('the map refers only to column aliases of the patient query', () => {
    assert.deepEqual(unknownSources(shippedMap(), outputAliases(files.patients)), []);
    const map = shippedMap();
    map.fields[2] = { ...map.fields[2]!, source: 'NoSuchColumn' };
    map.contact.name.template = '{Surname} {Nmae}';
    assert.deepEqual(unknownSources(map, outputAliases(files.patients)), [
      'contact.name.template: "Nmae" is not a column of the patient query',
      'fields[2] (Пол) source: "NoSuchColumn" is not a column of the patient query',
    ]);
  });

  it('names the tables and columns it reads, aliases resolved', () => {
    const used = referencedColumns(composePatientQuery(files.patients, files.selectAll));
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

  it('every guessed column sits on a line that says what runs in its place', () => {
    const guesses = guessesIn(files.patients);
    assert.deepEqual(
      guesses.map((guess) => guess.alias),
      [
        'BranchName',
        'Sex',
        'BirthDate',
        'Email',
        'City',
        'Address',
        'INN',
        'SNILS',
        'Passport',
        'ArchivingReason',
        'InfoSource',
      ],
    );
    const annotated = new Set(guesses.map((guess) => guess.line));
    const lines = files.patients.split('\n');
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
      'BranchName)',
    ]) {
      lines.forEach((line, index) => {
        if (stripComments(line).includes(guessed))
          assert.ok(
            annotated.has(index + 1),
            `${guessed} used on line ${index + 1} without an unconfirmed note`,
          );
      });
    }
  });

  it('runs a typed NULL (or the stated fallback) where the database lacks a guessed column', () => {
    const prepared = prepareSql(
      files,
      (column) => column.table !== 'Persons' && column.column !== 'BranchName',
    );
    assert.deepEqual(
      prepared.emptied.map((guess) => guess.alias),
      ['BranchName', 'Sex', 'BirthDate', 'Email', 'City', 'Address', 'INN', 'SNILS', 'Passport'],
    );
    assert.match(prepared.patients, /^\s+CAST\(NULL AS int\) AS Sex,$/m);
    assert.match(prepared.patients, /^\s+oc\.Name AS BranchName$/m);
    assert.doesNotMatch(
      stripComments(prepared.patients),
      /p\.(Sex|Birthday|Email|City|Address|INN|SNILS|Passport)\b/,
    );
    assert.deepEqual(lintDaemonSql(composePatientQuery(prepared.patients, files.selectAll)), []);
    assert.deepEqual(
      outputAliases(prepared.patients),
      outputAliases(files.patients),
      'the same columns come out',
    );
    // Persons has no change column here: both Persons selections are left out.
    assert.deepEqual(
      prepared.changeSelections.map((selection) => selection.name),
      ['select-changed.sql', 'select-activity.sql'],
    );
    assert.deepEqual(
      prepared.skipped.map((skipped) => skipped.name),
      ['select-changed-persons.sql', 'select-changed-persons-rowversion.sql'],
    );
    assert.equal(prepared.usesRowVersion, false);
    assert.equal(asWritten(files).usesRowVersion, true);
  });

  // Issue 22, item 12: `--` inside [brackets] was taken for a comment that hid the rest of the line.
  const EXPLOIT =
    "SELECT SYSDATETIME() AS DbNow, MIN_ACTIVE_ROWVERSION() AS DbRowVersion, 0 AS [pad--]; DELETE FROM dbo.Patients; EXEC master..xp_cmdshell 'whoami'; SELECT 1 AS [x\n];";

  it('sees code hidden behind -- or /* inside [brackets], "quotes" or literals, and INTO in any spelling', () => {
    const refused = [
      EXPLOIT,
      'SELECT 0 AS "pad--"; DELETE FROM dbo.Patients; SELECT 1 AS "x\n";',
      'SELECT 0 AS [a/*]; DELETE FROM dbo.Patients; SELECT 1 AS [*/]',
      "SELECT N'x--' AS a; DELETE FROM dbo.Patients",
      'SELECT p.ID INTO[copy] FROM dbo.Persons AS p',
      'SELECT p.ID INTO "copy" FROM dbo.Persons AS p',
      'SELECT p.ID INTO\tcopy FROM dbo.Persons AS p',
      'SELECT 1 AS a -- a comment a carriage return ends\r DELETE FROM dbo.Patients',
      'SELECT 1 AS a /* nested /* comments */ are refused */',
      'SELECT 1 AS a /* never closed',
      "SELECT 'never closed AS a",
      'SELECT 1 AS [never closed',
      'SELECT NEXT VALUE FOR dbo.Counter AS n',
    ];
    for (const sql of refused) assert.notDeepEqual(lintDaemonSql(sql), [], JSON.stringify(sql));
    assert.match(messages(EXPLOIT).join('; '), /read-only/);
    // Comment markers inside identifiers and literals are text: these read, and only read.
    for (const sql of [
      'SELECT 1 AS [a--b], 2 AS "c/*d", 3 AS [e]]--]]f]',
      "SELECT N'-- not a comment' AS a, 'it''s /* text' AS b",
      ';WITH t AS (SELECT 1 AS x) SELECT t.x FROM t;',
    ])
      assert.deepEqual(
        lintDaemonSql(sql).filter((problem) => !/does not parse/.test(problem.message)),
        [],
        sql,
      );
  });

  for (const name of ['clock.sql', 'stats.sql', 'sample.sql'])
    it(`the exploit in ${name} stops loading before anything connects`, () => {
      const dir = tempDir();
      cpSync(DEFAULT_SQL_DIR, dir, { recursive: true });
      writeFileSync(join(dir, name), EXPLOIT);
      assert.throws(
        () => loadSqlFiles(dir),
        (error: ActionableError) => error.exitCode === 2 && error.message.includes(join(dir, name)),
      );
    });

  it("a guess's fallback (taken from its comment) that writes stops loading", () => {
    const dir = tempDir();
    cpSync(DEFAULT_SQL_DIR, dir, { recursive: true });
    const patients = readFileSync(join(dir, 'patients.sql'), 'utf8');
    const guessed = patients.split('\n').findIndex((line) => /\bAS \w+.*--\s*unconfirmed:/i.test(line));
    assert.ok(guessed >= 0);
    const lines = patients.split('\n');
    lines[guessed] = lines[guessed]!.replace(/→.*$/, '→ 1; DELETE FROM dbo.Patients; SELECT 1');
    writeFileSync(join(dir, 'patients.sql'), lines.join('\n'));
    assert.throws(
      () => loadSqlFiles(dir),
      (error: ActionableError) => error.exitCode === 2 && /fallback/.test(error.message),
    );
  });

  it('the gate before the server refuses a composed text that writes, and passes what it checked', () => {
    const composed = composePatientQuery(files.patients, files.selectAll);
    assert.equal(readOnlyForServer(composed), composed);
    assert.throws(
      () => readOnlyForServer(`${composed.replace(/;\s*$/, '')}; DELETE FROM dbo.Patients;`),
      (error: ActionableError) => error.exitCode === 2 && /not sent to IDENT/.test(error.message),
    );
  });

  it('a write in SQL_DIR stops loading with exit code 2, naming the file and the line', () => {
    const dir = tempDir();
    cpSync(DEFAULT_SQL_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'select-all.sql'), '-- every patient\nUPDATE dbo.Patients SET Comment = NULL\n');
    assert.throws(
      () => loadSqlFiles(dir),
      (error: ActionableError) =>
        error.exitCode === 2 &&
        error.message.includes(join(dir, 'select-all.sql')) &&
        /line 2: .*read-only/.test(error.message),
    );
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

describe("test-db's warning about a login that can write", () => {
  it('its queries parse as T-SQL and only read', () => {
    assert.deepEqual(readOnlyProblems(ROLES_QUERY), []);
    assert.deepEqual(readOnlyProblems(tablesQuery(3)), []);
  });

  it('names the roles and the tables a login may change, and says nothing for a reader', () => {
    const rights = {
      roles: rolesFrom({ SysAdmin: 1, DbOwner: 1, DataWriter: 0, DdlAdmin: null }),
      tables: writableTablesFrom([
        { TableName: 'Patients', CanInsert: 1, CanUpdate: 1, CanDelete: 1 },
        { TableName: 'Persons', CanInsert: 0, CanUpdate: 1, CanDelete: 0 },
        { TableName: 'Receptions', CanInsert: 0, CanUpdate: 0, CanDelete: 0 },
      ]),
    };
    assert.deepEqual(rights, { roles: ['sysadmin', 'db_owner'], tables: ['Patients', 'Persons'] });
    const warning = writeRightsWarning(rights, 'sa')!;
    assert.match(warning, /^login: +warning: sa is sysadmin, db_owner and may change Patients, Persons, /);
    assert.match(warning, /db_datareader/);
    assert.equal(writeRightsWarning({ roles: [], tables: [] }, 'reader'), undefined);
  });
});
