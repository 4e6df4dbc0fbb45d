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
import type { DatabaseConfig } from '../../src/config/config.ts';
import { SqlPatientSource } from '../../src/ident/patient-source.ts';
import { connectIdent, type SqlConnection } from '../../src/ident/pool.ts';
import { checkSchema } from '../../src/ident/schema-check.ts';
import { loadSqlFiles } from '../../src/ident/sql-files.ts';
import type { PatientRow } from '../../src/mapping/mapper.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';
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

  before(async () => {
    container = await new MSSQLServerContainer(IMAGE).acceptLicense().start();
    const admin = new sql.ConnectionPool({
      server: container.getHost(),
      port: container.getPort(),
      user: container.getUsername(),
      password: container.getPassword(),
      database: 'master',
      options: { encrypt: true, trustServerCertificate: true },
    });
    await admin.connect();
    await admin.request().batch('CREATE DATABASE PZ COLLATE Cyrillic_General_CI_AS;');
    await admin.close();
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
    const loader = new sql.ConnectionPool({
      server: db.host,
      port: db.port,
      user: db.user,
      password: db.password,
      database: 'PZ',
      options: { encrypt: true, trustServerCertificate: true },
    });
    await loader.connect();
    for (const name of ['schema.sql', 'seed.sql']) {
      await loader.request().batch(readFileSync(new URL(`test/${name}`, SQL_DIR), 'utf8'));
    }
    await loader.close();
    connection = await connectIdent(db);
  });

  after(async () => {
    await connection?.close();
    await container?.stop();
  });

  it('reads the database clock', async () => {
    const now = await new SqlPatientSource(connection, files, db).now();
    assert.ok(now instanceof Date && !Number.isNaN(now.getTime()));
  });

  it('finds every table and column the SQL uses', async () => {
    const report = await checkSchema(connection, files);
    assert.deepEqual(report.missing, []);
    assert.ok(report.columns > 50);
  });

  it('reports a missing column with the file that needs it', async () => {
    const dir = tempDir();
    cpSync(new URL('.', SQL_DIR), dir, { recursive: true });
    const patients = join(dir, 'patients.sql');
    writeFileSync(patients, readFileSync(patients, 'utf8').replace('p.Passport ', 'p.PassportNumber '));
    const report = await checkSchema(connection, loadSqlFiles(dir));
    assert.deepEqual(report.missing, [
      { table: 'Persons', column: 'PassportNumber', files: ['patients.sql'] },
    ]);
  });

  it('reads every patient in id order, never staff, in pages', async () => {
    const source = new SqlPatientSource(connection, files, db, { pageSize: 4 });
    assert.deepEqual(
      await ids(source.all()),
      Array.from({ length: 16 }, (_, index) => 1001 + index),
    );
  });

  it('computes visits, sums, balance and branch', async () => {
    const source = new SqlPatientSource(connection, files, db);
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
    const source = new SqlPatientSource(connection, files, db, { pageSize: 3 });
    // Many rows carry exactly 10:00:00.000: a checkpoint equal to it must include them all.
    assert.deepEqual(
      await ids(source.changedSince(wallClock('2026-11-20 10:00:00.000'))),
      [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1012],
    );
    // One tick later they are behind the checkpoint; 1012 only has a new payment.
    assert.deepEqual(await ids(source.changedSince(wallClock('2026-11-20 10:00:00.003'))), [1001, 1012]);
    // The overlap window re-reads what a checkpoint taken a moment later would skip.
    const checkpoint = wallClock('2026-11-20 10:02:00.000');
    const since = new Date(checkpoint.getTime() - 300_000);
    assert.ok((await ids(source.changedSince(since))).includes(1002));
    // A visit that ended (reception 8) brings its patient in without a patient-row change.
    assert.deepEqual(
      await ids(source.changedSince(wallClock('2026-11-19 16:30:00.000'))),
      [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1010, 1012],
    );
  });

  it('every test patient maps with the shipped map', async () => {
    const { mapper } = shippedMapper();
    const source = new SqlPatientSource(connection, files, db);
    for await (const row of source.all()) {
      const outcome = mapper(row);
      assert.ok(outcome.ok, `patient ${row.PatientId}: ${outcome.ok ? '' : outcome.reason}`);
    }
  });

  it('`ident-sync test-db` passes', async () => {
    const run = await runCli(['test-db'], {
      DB_HOST: db.host,
      DB_PORT: String(db.port),
      DB_USER: db.user,
      DB_PASSWORD: db.password,
      DB_TRUST_SERVER_CERTIFICATE: 'true',
      STATE_DIR: tempDir(),
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /schema: +all \d+ columns in \d+ tables the SQL uses are present/);
    assert.match(run.stdout, /patients: 16, newest change 2026-11-20 14:05:33/);
    assert.match(run.stdout, /IDENT database: OK/);
  });

  it('`ident-sync test-db` names a wrong password', async () => {
    const run = await runCli(['test-db'], {
      DB_HOST: db.host,
      DB_PORT: String(db.port),
      DB_USER: db.user,
      DB_PASSWORD: 'wrong-password',
      DB_TRUST_SERVER_CERTIFICATE: 'true',
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /refused the login .*check DB_USER and DB_PASSWORD/);
  });
});
