import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { readEnvironment } from '../../src/config/env-source.ts';

function problems(
  env: Record<string, string>,
  needs: Parameters<typeof loadConfig>[1] = ['database'],
): string[] {
  try {
    loadConfig(env, needs);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail('the configuration was accepted');
}

const server = { DB_HOST: 'ident-server', DB_USER: 'reader', DB_PASSWORD: 'secret-pw', DB_NAME: 'PZ' };

describe('sources of a clinic chain', () => {
  it('without SOURCES: one source, main, with bare ids and the DB_* connection', () => {
    const config = loadConfig(server, ['database']);
    assert.equal(config.chain, false);
    assert.deepEqual(config.scopes, [{ key: 'main', bare: true }]);
    assert.equal(config.sources.length, 1);
    assert.deepEqual(config.sources[0]!.database, config.database);
    assert.equal(config.database?.database, 'PZ');
  });

  it('without SOURCES and without a database the command needs none: no source connection, the main key', () => {
    const config = loadConfig({});
    assert.deepEqual(config.sources, []);
    assert.deepEqual(config.scopes, [{ key: 'main', bare: true }]);
  });

  it('each source falls back to DB_* variable by variable: databases on one server differ by name only', () => {
    const config = loadConfig(
      {
        ...server,
        SOURCES: 'center, north',
        SOURCE_NORTH_DB_NAME: 'PZ_NORTH',
        SOURCE_NORTH_DB_PORT: '1500',
        SOURCE_NORTH_DB_TRUST_SERVER_CERTIFICATE: 'true',
        SOURCE_BARE_IDS: 'center',
      },
      ['database'],
    );
    assert.equal(config.chain, true);
    assert.deepEqual(config.scopes, [
      { key: 'center', bare: true },
      { key: 'north', bare: false },
    ]);
    const [center, north] = config.sources.map((source) => source.database);
    assert.deepEqual(
      [center!.host, center!.port, center!.database, center!.trustServerCertificate],
      ['ident-server', 1433, 'PZ', false],
    );
    assert.deepEqual(
      [
        north!.host,
        north!.port,
        north!.database,
        north!.user,
        north!.password,
        north!.trustServerCertificate,
      ],
      ['ident-server', 1500, 'PZ_NORTH', 'reader', 'secret-pw', true],
    );
    // Two sources: no single connection to stand for them.
    assert.equal(config.database, undefined);
  });

  it('a source on a server of its own, HOST\\INSTANCE written as for DB_HOST', () => {
    const config = loadConfig(
      {
        ...server,
        SOURCES: 'center,north-east',
        SOURCE_NORTH_EAST_DB_HOST: 'north-pc\\PZSQLSERVER',
        SOURCE_NORTH_EAST_DB_USER: 'north-reader',
        SOURCE_NORTH_EAST_DB_PASSWORD: '',
        SOURCE_NORTH_EAST_DB_ENCRYPT: 'false',
      },
      ['database'],
    );
    const north = config.sources[1]!;
    assert.equal(north.scope.key, 'north-east');
    assert.deepEqual(
      [north.database.host, north.database.instance, north.database.port, north.database.user],
      ['north-pc', 'PZSQLSERVER', undefined, 'north-reader'],
    );
    assert.equal(north.database.password, '');
    assert.equal(north.database.encrypt, false);
  });

  it('SOURCES with one source: its ids are scoped, and config.database is its connection', () => {
    const config = loadConfig({ ...server, SOURCES: 'north' }, ['database']);
    assert.deepEqual(config.scopes, [{ key: 'north', bare: false }]);
    assert.equal(config.database?.host, 'ident-server');
  });

  it('says one sentence per problem, naming the variable and the fix', () => {
    assert.deepEqual(problems({ ...server, SOURCES: 'center,north', SOURCE_BARE_IDS: 'west' }), [
      'SOURCE_BARE_IDS="west" is not one of SOURCES (center, north); name the source that synced alone before, or remove SOURCE_BARE_IDS',
      'SOURCE_NORTH_DB_NAME: the sources center and north read the same database PZ on ident-server; give each source its own database (SOURCE_<KEY>_DB_NAME or _DB_HOST)',
    ]);
    assert.deepEqual(
      problems({
        ...server,
        SOURCES: 'center,north',
        SOURCE_BARE_IDS: 'center,north',
        SOURCE_NORTH_DB_NAME: 'N',
      }),
      [
        'SOURCE_BARE_IDS names more than one source; name only the clinic that synced alone before (the ids of the others carry their key)',
      ],
    );
    assert.deepEqual(problems({ ...server, SOURCES: 'center,north,center', SOURCE_NORTH_DB_NAME: 'N' }), [
      'SOURCES names "center" twice; name each source once',
    ]);
    assert.deepEqual(problems({ ...server, SOURCES: 'Center', SOURCE_CENTER_DB_NAME: 'N' }), [
      'SOURCES: "Center" is not a source key: use 1–16 lowercase latin letters, digits, "-" or "_", starting with a letter (for example center, north)',
      'SOURCE_CENTER_DB_NAME names no source of SOURCES (): fix the name (SOURCE_<KEY>_DB_…, the key upper-cased, "-" as "_") or add the source to SOURCES',
    ]);
    assert.deepEqual(problems({ ...server, SOURCES: 'a-b,a_b', SOURCE_A_B_DB_NAME: 'N' }), [
      'SOURCES: the keys "a-b" and "a_b" would both read the variables SOURCE_A_B_DB_*; rename one of them',
    ]);
    assert.deepEqual(problems({ ...server, SOURCES: 'center,north', SOURCE_NROTH_DB_NAME: 'N' }), [
      'SOURCE_NROTH_DB_NAME names no source of SOURCES (center, north): fix the name (SOURCE_<KEY>_DB_…, the key upper-cased, "-" as "_") or add the source to SOURCES',
      'SOURCE_NORTH_DB_NAME: the sources center and north read the same database PZ on ident-server; give each source its own database (SOURCE_<KEY>_DB_NAME or _DB_HOST)',
    ]);
    assert.deepEqual(
      problems({ ...server, SOURCES: 'center,north', SOURCE_NORTH_DB_NAME: 'N', SOURCE_NORTH_DB_HOTS: 'x' }),
      [
        'SOURCE_NORTH_DB_HOTS is not a setting of a source; the settings are SOURCE_NORTH_DB_HOST, SOURCE_NORTH_DB_PORT, SOURCE_NORTH_DB_INSTANCE, SOURCE_NORTH_DB_NAME, SOURCE_NORTH_DB_USER, SOURCE_NORTH_DB_PASSWORD, SOURCE_NORTH_DB_ENCRYPT, SOURCE_NORTH_DB_TRUST_SERVER_CERTIFICATE',
      ],
    );
    assert.deepEqual(problems({ ...server, SOURCE_NORTH_DB_NAME: 'N', SOURCE_BARE_IDS: 'center' }, []), [
      "SOURCE_BARE_IDS is set but SOURCES is not: name the chain's sources in SOURCES (for example SOURCES=center,north), or remove SOURCE_BARE_IDS",
      "SOURCE_NORTH_DB_NAME is set but SOURCES is not: name the chain's sources in SOURCES, or remove SOURCE_NORTH_DB_NAME (a single clinic uses the DB_* variables)",
    ]);
    assert.deepEqual(
      problems({
        ...server,
        SOURCES: 'center,north',
        SOURCE_NORTH_DB_NAME: 'N',
        SOURCE_NORTH_DB_PORT: 'abc',
      }),
      ['SOURCE_NORTH_DB_PORT="abc": expected a TCP port from 1 to 65535'],
    );
  });

  it('a chain source without a database name, host or login: named by its own variable, DB_* offered for all', () => {
    const { DB_NAME: _name, ...noName } = server;
    assert.deepEqual(problems({ ...noName, SOURCES: 'center,north', SOURCE_NORTH_DB_NAME: 'PZ_NORTH' }), [
      'SOURCE_CENTER_DB_NAME (or DB_NAME for every source): expected the IDENT database of source center (each source of a chain names its database)',
    ]);
    assert.deepEqual(problems({ SOURCES: 'north', SOURCE_NORTH_DB_HOST: 'h', SOURCE_NORTH_DB_NAME: 'N' }), [
      'SOURCE_NORTH_DB_USER (or DB_USER for every source): expected the SQL login that reads the IDENT database',
      "SOURCE_NORTH_DB_PASSWORD (or DB_PASSWORD for every source): expected the SQL login's password",
    ]);
  });

  it('never shows a source password in a problem', () => {
    const shown = problems({
      ...server,
      SOURCES: 'center,north',
      SOURCE_NORTH_DB_PASSWORD: 'north-secret',
      SOURCE_NORTH_DB_PORT: '0',
    }).join('\n');
    assert.doesNotMatch(shown, /north-secret|secret-pw/);
  });

  it("warns of a source password wrapped in quotes as of DB_PASSWORD's", () => {
    const { warnings } = readEnvironment({ SOURCE_NORTH_DB_PASSWORD: "'pw'" }, '/nonexistent/.env');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^SOURCE_NORTH_DB_PASSWORD arrives wrapped in single quotes/);
  });
});
