import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_DEAL_MAPPING_FILE, DEFAULT_MAPPING_FILE, DEFAULT_SQL_DIR } from '../../src/config/config.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

const database = { DB_USER: 'reader', DB_PASSWORD: 'secret-password' };

describe('ident-sync test-db without a database', () => {
  let silent: Server;
  let silentPort = 0;
  before(async () => {
    // Accepts connections and never answers, like a firewall that drops packets.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  after(() => {
    silent.close();
  });

  it('exits non-zero at once when nothing listens, naming host, port and the setting', async () => {
    const started = Date.now();
    const run = await runCli(['test-db'], { ...database, DB_HOST: '127.0.0.1', DB_PORT: '1' });
    assert.equal(run.code, 1);
    assert.ok(Date.now() - started < 20_000);
    const lines = run.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      'error: cannot connect to SQL Server at 127.0.0.1:1; check DB_HOST and DB_PORT (or DB_INSTANCE) and that the server accepts TCP connections',
    ]);
    assert.doesNotMatch(run.stdout + run.stderr, /secret-password/);
  });

  it('gives up after the connect timeout when the server does not answer', async () => {
    const started = Date.now();
    const run = await runCli(['test-db'], {
      ...database,
      DB_HOST: '127.0.0.1',
      DB_PORT: String(silentPort),
      DB_CONNECT_TIMEOUT_SECONDS: '2',
    });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.code, 1);
    assert.ok(seconds < 20, `took ${seconds} s`);
    assert.match(
      run.stderr,
      /^error: no answer from SQL Server at 127\.0\.0\.1:\d+ in time; check DB_HOST and DB_PORT/,
    );
  });

  it('a named instance nobody answers for names SQL Server Browser and UDP 1434', async () => {
    const run = await runCli(['test-db'], {
      ...database,
      DB_HOST: '127.0.0.1',
      DB_INSTANCE: 'PZSQLSERVER',
      DB_CONNECT_TIMEOUT_SECONDS: '2',
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: .*SQL Server Browser service .*UDP 1434.*set DB_PORT/);
    assert.doesNotMatch(run.stderr, /test-db/);
  });

  it('asks for the database settings it needs, exit code 2', async () => {
    const run = await runCli(['test-db'], {});
    assert.equal(run.code, 2);
    assert.match(run.stderr, /config error: DB_HOST: expected the IDENT SQL Server host name or address/);
  });
});

describe('the SQL and the map are checked before anything connects', () => {
  it('--receptions checks the deal map and reception SQL while SYNC_RECEPTIONS is still off', async () => {
    const dir = tempDir();
    const dealMap = join(dir, 'deal-map.yaml');
    writeFileSync(
      dealMap,
      readFileSync(DEFAULT_DEAL_MAPPING_FILE, 'utf8').replace('source: Doctor', 'source: NoSuchColumn'),
    );
    const env = { ...database, DB_HOST: '127.0.0.1', DB_PORT: '1', DEAL_MAPPING_FILE: dealMap };
    const run = await runCli(['test-db', '--receptions'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /deal-map\.yaml: .*"NoSuchColumn" is not a column of the reception query/);
    // Without --receptions (and SYNC_RECEPTIONS off) the deal map is not read: it fails at connecting.
    const patientsOnly = await runCli(['test-db'], env);
    assert.equal(patientsOnly.code, 1);
  });

  it('a write in SQL_DIR: test-db exits 2 naming the file and line, even with nothing listening', async () => {
    const dir = tempDir();
    cpSync(DEFAULT_SQL_DIR, dir, { recursive: true });
    writeFileSync(
      join(dir, 'select-changed.sql'),
      'SELECT pat.ID_Persons AS PatientId FROM dbo.Patients AS pat;\nUPDATE dbo.Patients SET Comment = NULL;\n',
    );
    const run = await runCli(['test-db'], { ...database, DB_HOST: '127.0.0.1', DB_PORT: '1', SQL_DIR: dir });
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      new RegExp(
        `^error: ${join(dir, 'select-changed.sql').replace(/[/.]/g, '\\$&')} line 2: the IDENT database is read-only`,
      ),
    );
    assert.doesNotMatch(run.stderr, /127\.0\.0\.1:1|connect/, 'no connection was tried');
  });

  it('a map whose source is not a column of the patient query stops every command with exit 2, naming the entry', async () => {
    const dir = tempDir();
    const map = join(dir, 'contact-map.yaml');
    writeFileSync(
      map,
      readFileSync(DEFAULT_MAPPING_FILE, 'utf8').replace('source: CardNumber', 'source: NoSuchColumn'),
    );
    const env = {
      ...database,
      DB_HOST: '127.0.0.1',
      DB_PORT: '1',
      AMOCRM_BASE_URL: 'http://127.0.0.1:1',
      AMOCRM_LONG_LIVED_TOKEN: 'token',
      STATE_DIR: tempDir(),
      MAPPING_FILE: map,
    };
    for (const args of [['test-db'], ['fields'], ['sync'], ['test', '--patient-id', '1'], ['daemon']]) {
      const run = await runCli(args, { ...env, HEALTH_PORT: '0' });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(
        run.stderr,
        /config error: .*contact-map\.yaml: fields\[4\] \(Номер карты\) source: "NoSuchColumn" is not a column of the patient query/,
        args.join(' '),
      );
    }
  });
});
