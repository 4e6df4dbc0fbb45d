/**
 * The SQL against a real SQL Server (testcontainers). Without a container runtime these tests are
 * skipped with the reason printed; REQUIRE_CONTAINER_RUNTIME=1 makes a missing runtime a failure.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MSSQLServerContainer, type StartedMSSQLServerContainer } from '@testcontainers/mssqlserver';
import sql from 'mssql';
import { getContainerRuntimeClient } from 'testcontainers';
import { type DatabaseConfig, DEFAULT_SQL_DIR } from '../../src/config/config.ts';
import { SqlPatientSource } from '../../src/ident/patient-source.ts';
import { connectIdent, type SqlConnection } from '../../src/ident/pool.ts';
import { prepareForDatabase, prepareReceptionsForDatabase } from '../../src/ident/prepare.ts';
import { SqlReceptionSource } from '../../src/ident/reception-source.ts';
import { loadReceptionSql } from '../../src/ident/reception-sql.ts';
import { checkSchema, queriesInEffect } from '../../src/ident/schema-check.ts';
import { asWritten, composeIdQuery, loadSqlFiles } from '../../src/ident/sql-files.ts';
import type { PatientRow } from '../../src/mapping/mapper.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';
import { shippedDealMapper } from '../helpers/deal-map.ts';
import { shippedMapper } from '../helpers/map.ts';

const IMAGE = 'mcr.microsoft.com/mssql/server:2022-CU16-ubuntu-22.04';
const SQL_DIR = new URL('../../sql/', import.meta.url);

async function runtimeMissing(): Promise<string | undefined> {
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (error) {
    const reason = `no container runtime (${(error as Error).message})`;
    if (process.env.REQUIRE_CONTAINER_RUNTIME === '1')
      throw new Error(`REQUIRE_CONTAINER_RUNTIME=1, but there is ${reason}`, { cause: error });
    return `${reason}; on a machine with Docker they run, and REQUIRE_CONTAINER_RUNTIME=1 makes them mandatory`;
  }
}

const skipReason = await runtimeMissing();
if (skipReason) process.stdout.write(`# SQL Server tests skipped: ${skipReason}\n`);

const wallClock = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
const at = (text: string) => ({ at: wallClock(text) });
/** The test database's own columns that a real IDENT may lack (GUESSED in sql/test/schema.sql). */
const STRIP_GUESSES = `
ALTER TABLE dbo.Persons DROP COLUMN Sex, Birthday, Email, City, Address, INN, SNILS, Passport, DateTimeChanged;
ALTER TABLE dbo.OwnCompanies DROP COLUMN BranchName;
DROP TABLE dbo.ArchivingReasons;
DROP TABLE dbo.InfoSources;
DROP TABLE dbo.ReceptionCancelReasons;
ALTER TABLE dbo.ServiceItemPrices DROP COLUMN ID_ServiceItems;
DROP TABLE dbo.ServiceItems;`;
async function receptionIds(rows: AsyncIterable<PatientRow>): Promise<number[]> {
  const out: number[] = [];
  for await (const row of rows) out.push(Number(row.ReceptionId));
  return out;
}
async function ids(rows: AsyncIterable<PatientRow>): Promise<number[]> {
  const out: number[] = [];
  for await (const row of rows) out.push(Number(row.PatientId));
  return out;
}

describe('IDENT SQL against SQL Server', { skip: skipReason, timeout: 600_000 }, () => {
  let container: StartedMSSQLServerContainer;
  let db: DatabaseConfig;
  let connection: SqlConnection;
  const files = loadSqlFiles();

  /** A connection of the test's own, for what the sync never does: creating and changing data. */
  async function adminPool(database: string): Promise<sql.ConnectionPool> {
    const pool = new sql.ConnectionPool({
      server: db.host,
      port: db.port,
      user: db.user,
      password: db.password,
      database,
      // One connection, so a SET (SHOWPLAN_XML) holds for the queries after it.
      pool: { max: 1 },
      options: { encrypt: true, trustServerCertificate: true },
    });
    await pool.connect();
    return pool;
  }
  /** Batches run by hand in a test database, in order. */
  async function write(database: string, ...batches: string[]): Promise<void> {
    const pool = await adminPool(database);
    try {
      for (const batch of batches) await pool.request().batch(batch);
    } finally {
      await pool.close();
    }
  }

  before(async () => {
    container = await new MSSQLServerContainer(IMAGE).acceptLicense().start();
    db = {
      host: container.getHost(),
      port: container.getPort(),
      instance: undefined,
      database: 'PZ',
      user: container.getUsername(),
      password: container.getPassword(),
      encrypt: true,
      trustServerCertificate: true,
      connectTimeoutMs: 15_000,
      requestTimeoutMs: 60_000,
    };
    await write(
      'master',
      'CREATE DATABASE PZ COLLATE Cyrillic_General_CI_AS;',
      'CREATE DATABASE PZ_BARE COLLATE Cyrillic_General_CI_AS;',
    );
    const testDatabase = ['schema.sql', 'seed.sql'].map((name) =>
      readFileSync(new URL(`test/${name}`, SQL_DIR), 'utf8'),
    );
    await write('PZ', ...testDatabase);
    // A clinic whose database has none of the guessed columns.
    await write('PZ_BARE', ...testDatabase, STRIP_GUESSES);
    connection = await connectIdent(db);
  });

  /** `ident-sync test-db` against the test server, with these settings over the connection's. */
  const testDb = (settings: Record<string, string> = {}, args: string[] = []) =>
    runCli(['test-db', ...args], {
      DB_HOST: db.host,
      DB_PORT: String(db.port),
      DB_USER: db.user,
      DB_PASSWORD: db.password,
      DB_TRUST_SERVER_CERTIFICATE: 'true',
      STATE_DIR: tempDir(),
      ...settings,
    });

  const receptionFiles = loadReceptionSql(DEFAULT_SQL_DIR);
  const receptionsOn = async (on: SqlConnection, config = db) =>
    new SqlReceptionSource(
      on,
      receptionFiles,
      await prepareReceptionsForDatabase(on, receptionFiles),
      config,
      { pageSize: 3 },
    );

  const sourceOn = async (on: SqlConnection, options: { pageSize?: number } = {}, config = db) =>
    new SqlPatientSource(on, files, await prepareForDatabase(on, files), config, options);

  after(async () => {
    await connection?.close();
    await container?.stop();
  });

  it('reads the database clock', async () => {
    const now = await (await sourceOn(connection)).now();
    assert.ok(now.at instanceof Date && !Number.isNaN(now.at.getTime()));
    assert.match(now.rowVersion ?? '', /^[0-9a-f]{16}$/);
  });

  it('finds every table and column the SQL uses', async () => {
    const report = await checkSchema(
      connection,
      queriesInEffect(files, await prepareForDatabase(connection, files)),
    );
    assert.deepEqual(report.missing, []);
    assert.ok(report.columns > 50);
  });

  it('reports a missing column with the file that needs it', async () => {
    const dir = tempDir();
    cpSync(new URL('.', SQL_DIR), dir, { recursive: true });
    const patients = join(dir, 'patients.sql');
    writeFileSync(patients, readFileSync(patients, 'utf8').replace('p.Surname  ', 'p.SurnameTypo'));
    const edited = loadSqlFiles(dir);
    const report = await checkSchema(connection, queriesInEffect(edited, asWritten(edited)));
    assert.deepEqual(report.missing, [{ table: 'Persons', column: 'SurnameTypo', files: ['patients.sql'] }]);
  });

  it('reads every patient in id order, never staff, in pages', async () => {
    const source = await sourceOn(connection, { pageSize: 4 });
    assert.deepEqual(
      await ids(source.all()),
      Array.from({ length: 16 }, (_, index) => 1001 + index),
    );
  });

  it('computes visits, sums, balance and branch', async () => {
    const source = await sourceOn(connection);
    const maria = (await source.one('1001'))!;
    assert.equal(maria.VisitCount, 2);
    assert.equal((maria.FirstVisitDate as Date).toISOString(), '2019-06-01T10:30:00.000Z');
    assert.equal(Number(maria.VisitSum), 40401);
    assert.equal(Number(maria.Advance), 9600);
    assert.equal(Number(maria.Debt), 0);
    assert.equal(maria.BranchName, 'Филиал «Северный»');
    const elena = (await source.one('1007'))!;
    assert.equal(Number(elena.Debt), 14500);
    assert.equal(elena.ArchivingReason, 'Переезд');
    const none = (await source.one('1006'))!;
    assert.equal(none.VisitCount, 0);
    assert.equal(none.FirstVisitDate, null);
    assert.equal(await source.one('2001'), undefined, 'staff is not a patient');
  });

  it('selects changes at checkpoint boundaries: equal timestamps included, activity-only changes too', async () => {
    const source = await sourceOn(connection, { pageSize: 3 });
    // Many rows carry exactly 10:00:00.000: a checkpoint equal to it must include them all.
    assert.deepEqual(
      await ids(source.changedSince(at('2026-11-20 10:00:00.000'))),
      [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1012, 1013],
    );
    // One tick later they are behind the checkpoint; 1012 only has a new payment, 1013 a Persons edit.
    assert.deepEqual(await ids(source.changedSince(at('2026-11-20 10:00:00.003'))), [1001, 1012, 1013]);
    // The overlap window re-reads what a checkpoint taken a moment later would skip.
    const checkpoint = wallClock('2026-11-20 10:02:00.000');
    assert.ok(
      (await ids(source.changedSince({ at: new Date(checkpoint.getTime() - 300_000) }))).includes(1002),
    );
    // A visit that ended (reception 8) brings its patient in without a patient-row change.
    assert.deepEqual(
      await ids(source.changedSince(at('2026-11-19 16:30:00.000'))),
      [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1010, 1012, 1013],
    );
  });

  it('every test patient maps with the shipped map', async () => {
    const { mapper } = shippedMapper();
    const source = await sourceOn(connection);
    for await (const row of source.all()) {
      const outcome = mapper(row);
      assert.ok(outcome.ok, `patient ${row.PatientId}: ${outcome.ok ? '' : outcome.reason}`);
    }
  });

  it('`ident-sync test-db` passes', async () => {
    const run = await testDb();
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /schema: +all \d+ columns in \d+ tables the SQL uses are present/);
    assert.match(run.stdout, /guessed: +every unconfirmed column of patients.sql exists here/);
    assert.match(
      run.stdout,
      /persons: +Persons has DateTimeChanged: incremental syncs use select-changed-persons.sql/,
    );
    assert.match(run.stdout, /indexes: +\d+ of \d+ columns the queries filter and join on lead an index/);
    assert.match(run.stdout, /patients: 16, newest change 2026-11-20 14:05:33/);
    assert.match(
      run.stdout,
      /timing: +change selection .* patient\(s\) in \d+ ms; one page of 500 patients: 16 row\(s\) in \d+ ms/,
    );
    assert.match(run.stdout, /sample: +the 5 most recently changed patient\(s\), 5 map cleanly/);
    assert.match(run.stdout, /IDENT database: OK/);
  });

  it('`ident-sync test-db` on a database with none of the guessed columns: passes, names them, prints the lines to paste', async () => {
    const run = await testDb({ DB_NAME: 'PZ_BARE' });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /guessed: +11 unconfirmed column\(s\) of patients.sql are missing here/);
    assert.match(run.stdout, /Persons\.Birthday: BirthDate \(«Дата рождения», «Возраст» stays empty\)/);
    assert.match(run.stdout, /line \d+: CAST\(NULL AS datetime\) AS BirthDate,/);
    assert.match(run.stdout, /line \d+: oc\.Name AS BranchName/);
    assert.match(run.stdout, /persons: +Persons has no change column/);
  });

  it('a database with none of the guessed columns still yields every confirmed value', async () => {
    const bare = await connectIdent({ ...db, database: 'PZ_BARE' });
    try {
      const source = await sourceOn(bare, {}, { ...db, database: 'PZ_BARE' });
      const maria = (await source.one('1001'))!;
      assert.equal(maria.Surname, 'Иванова');
      assert.equal(maria.MobilePhone, '8 (916) 123-45-67');
      assert.equal(maria.CardNumber, 'К-1001');
      assert.equal(maria.VisitCount, 2);
      assert.equal(maria.BranchName, 'Филиал «Северный»');
      assert.equal(maria.BirthDate, null);
      assert.equal(maria.ArchivingReason, null);
      const { mapper } = shippedMapper();
      const outcome = mapper(maria);
      assert.ok(outcome.ok);
      const value = (key: string) =>
        outcome.contact.document.fields.find((field) => field.key === key)?.value;
      assert.equal(value('card_number'), 'К-1001');
      assert.equal(value('visit_count'), 2);
      assert.equal(value('birth_date'), null);
      assert.deepEqual(await ids(source.changedSince(at('2026-11-20 10:00:00.003'))), [1001, 1012]);
    } finally {
      await bare.close();
    }
  });

  it('reads receptions with their doctor, chair, branch, state, services, sum and earlier visit', async () => {
    const source = await receptionsOn(connection);
    assert.deepEqual(
      await receptionIds(source.window(wallClock('2000-01-01 00:00'))),
      [1, 2, 3, 4, 5, 6, 7, 8, 10, 11],
      'reception 9 has no patient: left out',
    );
    assert.deepEqual(await receptionIds(source.window(wallClock('2026-01-01 00:00'))), [2, 3, 8, 10, 11]);
    assert.equal(await source.one('9'), undefined);
    const implant = (await source.one('2'))!;
    assert.equal(Number(implant.PatientId), 1001);
    assert.equal((implant.PlanStart as Date).toISOString(), '2026-11-10T09:00:00.000Z');
    assert.equal(implant.Doctor, 'Врачёва Анна Петровна');
    assert.equal(implant.Chair, 'Кресло 1');
    assert.equal(implant.Branch, 'Клиника на Ленина');
    assert.equal((implant.EndedAt as Date).toISOString(), '2026-11-10T10:05:00.000Z');
    assert.equal(implant.CanceledAt, null);
    assert.equal(implant.Services, 'Имплантация');
    assert.equal(Number(implant.Sum), 30400);
    assert.equal((implant.PreviousVisitAt as Date).toISOString(), '2019-06-01T10:30:00.000Z');
    const first = (await source.one('1'))!;
    assert.equal(first.Doctor, null, 'no doctor: NULL, not an empty name');
    assert.equal(first.Services, 'Консультация, Профессиональная гигиена');
    assert.equal(Number(first.Sum), 10001);
    assert.equal(first.PreviousVisitAt, null);
    const cancelled = (await source.one('4'))!;
    assert.equal(cancelled.CancelReason, 'Заболел');
    assert.equal((cancelled.CanceledAt as Date).toISOString(), '2024-01-31T18:00:00.000Z');
    assert.equal(cancelled.Sum, null);
    assert.equal(cancelled.Services, null);
    // A check issued completes a visit; the cancelled one before it does not make it a repeat visit.
    const checked = (await source.one('5'))!;
    assert.equal((checked.EndedAt as Date).toISOString(), '2024-03-01T13:10:00.000Z');
    assert.equal(checked.PreviousVisitAt, null);
    // Cancelled by its reason alone (ReceptionCanceled NULL), dated by its change; doctor and chair from its slot.
    const byReason = (await source.one('10'))!;
    assert.equal((byReason.CanceledAt as Date).toISOString(), '2026-11-12T13:30:00.000Z');
    assert.equal(byReason.CancelReason, 'Неявка');
    assert.equal(byReason.Doctor, 'Врачёва Анна Петровна');
    assert.equal(byReason.Chair, 'Кресло 2');
    assert.equal(byReason.Branch, 'Филиал «Северный»');
    assert.equal(await source.one('999'), undefined);
    assert.equal(await source.one('1; DROP TABLE dbo.Receptions'), undefined);
  });

  it('every test reception maps with the shipped deal map, into the pipeline and stage its history gives', async () => {
    const { mapper } = shippedDealMapper();
    const source = await receptionsOn(connection);
    const placed: string[] = [];
    for await (const row of source.window(wallClock('2000-01-01 00:00'))) {
      const outcome = mapper(row);
      assert.ok(outcome.ok, `reception ${row.ReceptionId}: ${outcome.ok ? '' : outcome.reason}`);
      placed.push(
        `${outcome.deal.receptionId} ${outcome.deal.placement.role} ${outcome.deal.placement.state}`,
      );
    }
    assert.deepEqual(placed, [
      '1 primary ended',
      '2 repeat ended',
      '3 repeat booked',
      '4 primary cancelled',
      '5 primary ended',
      '6 primary ended',
      '7 primary ended',
      '8 primary ended',
      '10 repeat no_show',
      '11 repeat no_show',
    ]);
    const outcome = mapper((await source.one('2'))!);
    assert.ok(outcome.ok);
    assert.equal(outcome.deal.document.name, 'Приём 10.11 09:00 — Врачёва Анна Петровна');
    assert.equal(outcome.deal.document.price, 30400);
  });

  it('selects changed receptions, and the later ones of their patient within the window', async () => {
    const source = await receptionsOn(connection);
    const changed = (since: string, windowStart: string) =>
      receptionIds(source.changedSince(wallClock(since), wallClock(windowStart)));
    assert.deepEqual(await changed('2026-11-15 00:00', '2026-01-01 00:00'), [3, 8]);
    // A new service line of reception 8's order, its own row untouched.
    await write(
      'PZ',
      `UPDATE dbo.OrderServiceRelation SET DateTimeChanged = '2026-11-21 12:00' WHERE ID = 7;`,
    );
    // The 2019 visit corrected today: 1001's later receptions in the window change pipeline with it.
    await write('PZ', `UPDATE dbo.Receptions SET DateTimeChanged = '2026-11-21 12:00' WHERE ID = 1;`);
    try {
      assert.deepEqual(await changed('2026-11-21 00:00', '2026-11-01 00:00'), [1, 2, 3, 8]);
      assert.deepEqual(await changed('2026-11-21 00:00', '2026-11-20 00:00'), [1, 3, 8]);
    } finally {
      await write(
        'PZ',
        `UPDATE dbo.Receptions SET DateTimeChanged = '2019-06-01 11:10' WHERE ID = 1;
        UPDATE dbo.OrderServiceRelation SET DateTimeChanged = '2026-11-19 17:05' WHERE ID = 7;`,
      );
    }
  });

  it('a visit changed on a workstation whose clock runs behind is selected by Receptions.RowVersion', async () => {
    const source = await receptionsOn(connection);
    const sinceRowVersion = (await (await sourceOn(connection)).now()).rowVersion;
    assert.ok(sinceRowVersion, 'clock.sql reads the rowversion mark');
    // Stamped a day before the checkpoint: DateTimeChanged alone would never select it.
    await write('PZ', `UPDATE dbo.Receptions SET DateTimeChanged = '2026-11-20 12:00' WHERE ID = 5;`);
    try {
      const since = wallClock('2026-11-21 00:00');
      const windowStart = wallClock('2026-11-21 00:00');
      assert.ok(!(await receptionIds(source.changedSince(since, windowStart))).includes(5));
      assert.ok((await receptionIds(source.changedSince(since, windowStart, sinceRowVersion))).includes(5));
    } finally {
      await write('PZ', `UPDATE dbo.Receptions SET DateTimeChanged = '2024-03-01 13:10' WHERE ID = 5;`);
    }
  });

  it('a database without the guessed reception columns reads receptions without services and cancel reason', async () => {
    const bare = await connectIdent({ ...db, database: 'PZ_BARE' });
    try {
      const source = await receptionsOn(bare, { ...db, database: 'PZ_BARE' });
      const byReason = (await source.one('10'))!;
      assert.ok(byReason.CanceledAt instanceof Date, 'cancelled by its reason, its text unknown here');
      assert.equal(byReason.CancelReason, null);
      const cancelled = (await source.one('4'))!;
      assert.equal(cancelled.CancelReason, null);
      assert.ok(cancelled.CanceledAt instanceof Date);
      const implant = (await source.one('2'))!;
      assert.equal(implant.Services, null);
      assert.equal(Number(implant.Sum), 30400, 'the sum needs no guessed column');
      assert.equal(implant.Doctor, 'Врачёва Анна Петровна');
    } finally {
      await bare.close();
    }
  });

  it('`ident-sync test-db` with SYNC_RECEPTIONS=true checks the reception SQL too', async () => {
    const run = await testDb({ DB_NAME: 'PZ_BARE', SYNC_RECEPTIONS: 'true', RECEPTIONS_DAYS_BACK: '3650' });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /guessed: +3 unconfirmed column\(s\) of receptions.sql are missing here/);
    assert.match(
      run.stdout,
      /ReceptionCancelReasons\.Name, ReceptionCancelReasons\.ID: CancelReason \(«[^»]+» stays empty\)/,
    );
    assert.match(run.stdout, /cancels: +the text of a cancel reason is not found here/);
    assert.match(
      run.stdout,
      /receptions: \d+ changed in the last 24 h, read in \d+ ms; a page of the 3650-day window: \d+ row\(s\)/,
    );
    assert.match(run.stdout, /IDENT database: OK/);
  });

  it('a service name with control characters FOR XML refuses is read without them', async () => {
    await write(
      'PZ',
      `UPDATE dbo.ServiceItems SET Name = N'Конс' + NCHAR(1) + N'ульта' + NCHAR(31) + NCHAR(11) + N'ция' WHERE ID = 1;`,
    );
    try {
      const source = await receptionsOn(connection);
      assert.equal((await source.one('1'))!.Services, 'Консультация, Профессиональная гигиена');
    } finally {
      await write('PZ', `UPDATE dbo.ServiceItems SET Name = N'Консультация' WHERE ID = 1;`);
    }
  });

  it('selects the visits that became overdue since the last run, once the no-show hours passed', async () => {
    const source = new SqlReceptionSource(
      connection,
      receptionFiles,
      await prepareReceptionsForDatabase(connection, receptionFiles),
      db,
      { noShowHours: 3 },
    );
    const server = await (await sourceOn(connection)).now();
    // Planned to end 4 hours ago (overdue since an hour), and 2 hours ago (not yet), by the server's clock.
    await write(
      'PZ',
      `INSERT INTO dbo.Receptions (ID, ID_Patients, PlanStart, PlanEnd, ID_Armchairs, DateTimeAdded, DateTimeChanged) VALUES
        (901, 1001, DATEADD(hour, -5, GETDATE()), DATEADD(hour, -4, GETDATE()), 1, '2026-01-01', '2026-01-01'),
        (902, 1001, DATEADD(hour, -3, GETDATE()), DATEADD(hour, -2, GETDATE()), 1, '2026-01-01', '2026-01-01');`,
    );
    try {
      const since = new Date(server.at.getTime() - 2 * 3_600_000);
      const ids = await receptionIds(source.changedSince(since, since));
      assert.ok(ids.includes(901), String(ids));
      assert.ok(!ids.includes(902), String(ids));
      const without = await receptionsOn(connection);
      assert.ok(
        !(await receptionIds(without.changedSince(since, since))).includes(901),
        'no rule: not selected',
      );
    } finally {
      await write('PZ', 'DELETE FROM dbo.Receptions WHERE ID IN (901, 902);');
    }
  });

  it('`ident-sync test-db --receptions` checks visits before SYNC_RECEPTIONS is on', async () => {
    const run = await testDb({ RECEPTIONS_DAYS_BACK: '3650' }, ['--receptions']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /SYNC_RECEPTIONS is off/);
    assert.match(
      run.stdout,
      /stages: +the columns the stage rules read are dates \(.*Receptions\.CheckIssued/,
    );
    assert.match(run.stdout, /visits: +the last 30 days: \d+ — no_show \d+, cancelled \d+/);
    assert.match(run.stdout, /tables: +.*Receptions \d+ rows/);
    assert.match(run.stdout, /no index leads with Orders\.ID_Receptions/);
    assert.match(run.stdout, /sample: the 5 most recently changed reception\(s\), 5 map cleanly/);
  });

  it('`ident-sync test-db --receptions` says plainly that CheckIssued as a bit is no date', async () => {
    await write('master', 'CREATE DATABASE PZ_BIT COLLATE Cyrillic_General_CI_AS;');
    await write(
      'PZ_BIT',
      readFileSync(new URL('test/schema.sql', SQL_DIR), 'utf8'),
      'ALTER TABLE dbo.Receptions ALTER COLUMN CheckIssued bit NULL;',
    );
    const run = await testDb({ DB_NAME: 'PZ_BIT' }, ['--receptions']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /Receptions\.CheckIssued is bit, not a date \(it feeds EndedAt\)/);
    assert.match(run.stderr, /not dates; compare them in receptions\.sql/);
  });

  it('`ident-sync test-db` names a missing SELECT permission as such', async () => {
    await write(
      'master',
      "CREATE LOGIN ident_reader WITH PASSWORD = 'Reader-Passw0rd!', CHECK_POLICY = OFF;",
    );
    await write(
      'PZ',
      'CREATE USER ident_reader FOR LOGIN ident_reader;',
      'ALTER ROLE db_datareader ADD MEMBER ident_reader;',
      // Its columns stay visible (the schema check passes); reading them is denied.
      'GRANT VIEW DEFINITION ON dbo.PaymentsIn TO ident_reader;',
      'DENY SELECT ON dbo.PaymentsIn TO ident_reader;',
    );
    const run = await testDb({ DB_USER: 'ident_reader', DB_PASSWORD: 'Reader-Passw0rd!' });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stderr,
      /the login may not read the table PaymentsIn \(SELECT permission denied, SQL error 229\)/,
    );
    assert.doesNotMatch(run.stderr, /ident-sync test-db/);
  });

  it('selects changes among 200 000 receptions by seeking the DateTimeChanged index', async () => {
    const pool = await adminPool('PZ');
    try {
      // Ten years of a clinic: 200 000 receptions, one of them changed today.
      await pool.request().batch(`
        WITH n AS (SELECT TOP (200000) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i
                   FROM sys.all_objects AS a CROSS JOIN sys.all_objects AS b)
        INSERT INTO dbo.Receptions (ID, ID_Patients, PlanStart, PlanEnd, ReceptionEnded, DateTimeAdded, DateTimeChanged)
        SELECT 1000 + n.i, 1001 + n.i % 16, DATEADD(minute, -n.i * 20, '2026-11-01'), DATEADD(minute, -n.i * 20 + 30, '2026-11-01'),
               DATEADD(minute, -n.i * 20 + 30, '2026-11-01'), DATEADD(minute, -n.i * 20 - 60, '2026-11-01'), DATEADD(minute, -n.i * 20 + 35, '2026-11-01')
        FROM n;
        UPDATE dbo.Receptions SET DateTimeChanged = '2026-11-22 09:00' WHERE ID = 1005;
        UPDATE STATISTICS dbo.Receptions;`);
      const source = await sourceOn(connection);
      const started = performance.now();
      const changed = await source.changedIds(at('2026-11-21 00:00'));
      const ms = Math.round(performance.now() - started);
      process.stdout.write(
        `# change selection over 200 000 receptions: ${changed.length} patient(s) in ${ms} ms\n`,
      );
      assert.ok(changed.includes(1001 + (5 % 16)));
      // The plan of the united change selection: index seeks on the DateTimeChanged indexes, no scan of Receptions.
      const prepared = await prepareForDatabase(connection, files);
      await pool.request().batch('SET SHOWPLAN_XML ON;');
      const plan = await pool
        .request()
        .input('since', sql.DateTime, wallClock('2026-11-21 00:00'))
        .input('sinceRowVersion', sql.VarBinary(8), Buffer.alloc(8))
        .query(composeIdQuery(prepared.changeSelections.map((selection) => selection.sql)));
      await pool.request().batch('SET SHOWPLAN_XML OFF;');
      const xml = String(Object.values(plan.recordset[0] ?? {})[0] ?? '');
      // Every read of Receptions goes through its DateTimeChanged index, and it is a seek.
      const receptionIndexes = [...xml.matchAll(/Table="\[Receptions\]"[^>]*Index="\[([^\]]+)\]"/g)].map(
        (match) => match[1],
      );
      assert.deepEqual([...new Set(receptionIndexes)], ['IX_Receptions_DateTimeChanged'], xml.slice(0, 2000));
      assert.match(xml, /PhysicalOp="Index Seek"/);
    } finally {
      await pool.close();
    }
  });

  it('`ident-sync test-db` names a wrong password', async () => {
    const run = await testDb({ DB_PASSWORD: 'wrong-password' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /refused the login .*check DB_USER and DB_PASSWORD/);
  });
});
