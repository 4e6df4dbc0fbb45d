import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

/** Two clinics' servers where nothing listens (ports of this test's own range). */
const chain = {
  SOURCES: 'center,north',
  SOURCE_BARE_IDS: 'center',
  DB_HOST: '127.0.0.1',
  DB_USER: 'reader',
  DB_PASSWORD: 'secret-password',
  DB_NAME: 'PZ',
  SOURCE_CENTER_DB_PORT: '47301',
  SOURCE_NORTH_DB_PORT: '47302',
  SOURCE_NORTH_DB_NAME: 'PZ_NORTH',
  SOURCE_NORTH_DB_PASSWORD: 'north-secret',
};

describe('ident-sync test-db in a clinic chain', () => {
  it('checks every source under a heading with its key; one failing does not hide the next', async () => {
    const run = await runCli(['test-db'], chain);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stdout.trim().split('\n'), [
      '── source center (its ids stay bare) ──',
      'connecting to 127.0.0.1:47301, database PZ (timeout 15 s)…',
      'error: source center: cannot connect to SQL Server at 127.0.0.1:47301; check SOURCE_CENTER_DB_HOST and SOURCE_CENTER_DB_PORT (or SOURCE_CENTER_DB_INSTANCE) and that the server accepts TCP connections',
      '',
      '── source north ──',
      'connecting to 127.0.0.1:47302, database PZ_NORTH (timeout 15 s)…',
      'error: source north: cannot connect to SQL Server at 127.0.0.1:47302; check SOURCE_NORTH_DB_HOST and SOURCE_NORTH_DB_PORT (or SOURCE_NORTH_DB_INSTANCE) and that the server accepts TCP connections',
    ]);
    assert.equal(
      run.stderr,
      'error: the check failed for source(s) center, north; the lines under each heading above say what to fix\n',
    );
    assert.doesNotMatch(run.stdout + run.stderr, /secret-password|north-secret/);
  });

  it('--source KEY checks that source alone; an unknown key is one sentence', async () => {
    const one = await runCli(['test-db', '--source', 'north'], chain);
    assert.equal(one.code, 1);
    assert.match(one.stdout, /^── source north ──\n/);
    assert.doesNotMatch(one.stdout, /center|47301/);
    const unknown = await runCli(['test-db', '--source', 'south'], chain);
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.stderr,
      'error: --source: there is no source "south"; the sources are center, north\n',
    );
  });
});
