import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { parseEnvFile, readEnvironment } from '../../src/config/env-source.ts';

function problems(env: Record<string, string>, needs: Parameters<typeof loadConfig>[1] = []): string[] {
  try {
    loadConfig(env, needs);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail('the configuration was accepted');
}

const database = { DB_HOST: 'ident-server', DB_USER: 'reader', DB_PASSWORD: 'pw' };

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    assert.deepEqual(config.sync, {
      intervalMinutes: 2,
      deepSyncHours: [8, 20],
      timeZone: 'Europe/Moscow',
      overlapSeconds: 300,
      matchByPhone: true,
      confirmSources: false,
      receptions: false,
      receptionsDaysBack: 90,
    });
    assert.equal(config.amocrm.batchSize, 50);
    assert.equal(config.amocrm.rateLimitRps, 7);
    assert.equal(config.amocrm.redirectUri, 'http://localhost:8080/callback');
    assert.equal(config.database, undefined);
    assert.equal(config.log.level, 'info');
    assert.match(config.mappingFile, /mapping\/contact-map\.yaml$/);
  });

  it('reads the database settings with PZ as the default database', () => {
    const config = loadConfig(database, ['database']);
    assert.deepEqual(
      { ...config.database, password: undefined },
      {
        host: 'ident-server',
        port: 1433,
        instance: undefined,
        database: 'PZ',
        user: 'reader',
        password: undefined,
        encrypt: true,
        trustServerCertificate: false,
        connectTimeoutMs: 15_000,
        requestTimeoutMs: 120_000,
      },
    );
  });

  it('accepts a named instance, written apart or as HOST\\INSTANCE, and HOST,PORT', () => {
    const named = loadConfig({ ...database, DB_INSTANCE: 'PZSQLSERVER' }, ['database']).database!;
    assert.deepEqual([named.host, named.instance, named.port], ['ident-server', 'PZSQLSERVER', undefined]);
    const odbc = loadConfig({ ...database, DB_HOST: 'srv\\PZSQLSERVER' }, ['database']).database!;
    assert.deepEqual([odbc.host, odbc.instance, odbc.port], ['srv', 'PZSQLSERVER', undefined]);
    const withPort = loadConfig({ ...database, DB_HOST: 'srv,50026' }, ['database']).database!;
    assert.deepEqual([withPort.host, withPort.instance, withPort.port], ['srv', undefined, 50026]);
    const both = loadConfig({ ...database, DB_INSTANCE: 'PZSQLSERVER', DB_PORT: '50026' }, [
      'database',
    ]).database!;
    assert.deepEqual([both.instance, both.port], [undefined, 50026], 'an explicit port wins');
  });

  it('derives the amoCRM host from the subdomain; AMOCRM_BASE_URL overrides it', () => {
    assert.equal(loadConfig({ AMOCRM_SUBDOMAIN: 'Clinic' }).amocrm.baseUrl, 'https://clinic.amocrm.ru');
    assert.equal(
      loadConfig({ AMOCRM_SUBDOMAIN: 'clinic', AMOCRM_BASE_URL: 'https://clinic.kommo.com/' }).amocrm.baseUrl,
      'https://clinic.kommo.com',
    );
    assert.equal(
      loadConfig({ AMOCRM_SUBDOMAIN: 'clinic', AMOCRM_DOMAIN: 'kommo.com' }).amocrm.baseUrl,
      'https://clinic.kommo.com',
    );
    assert.equal(
      loadConfig({ AMOCRM_SUBDOMAIN: 'clinic.amocrm.com' }).amocrm.baseUrl,
      'https://clinic.amocrm.com',
    );
    assert.deepEqual(problems({ AMOCRM_DOMAIN: 'amocrm.org' }), [
      'AMOCRM_DOMAIN="amocrm.org": expected amocrm.ru, amocrm.com or kommo.com',
    ]);
  });

  it('sends at most 50 contacts per request', () => {
    assert.equal(loadConfig({}).amocrm.batchSize, 50);
    assert.deepEqual(problems({ BATCH_SIZE: '250' }), [
      'BATCH_SIZE="250": expected a whole number from 1 to 50',
    ]);
  });

  it('reports every bad value on its own line, naming the variable and what is expected', () => {
    assert.deepEqual(
      problems({
        SYNC_INTERVAL_MINUTES: 'abc',
        DB_ENCRYPT: 'maybe',
        RATE_LIMIT_RPS: '10',
        TZ: 'Mars/Olympus',
      }),
      [
        'DB_ENCRYPT="maybe": expected true or false',
        'SYNC_INTERVAL_MINUTES="abc": expected a whole number from 1 to 1440',
        'TZ="Mars/Olympus": expected an IANA time zone such as Europe/Moscow',
        'RATE_LIMIT_RPS="10": amoCRM allows at most 7 requests per second; expected a number up to 7',
      ],
    );
  });

  it('asks each command only for what it needs', () => {
    assert.deepEqual(problems({}, ['database']), [
      'DB_HOST: expected the IDENT SQL Server host name or address',
      'DB_USER: expected the SQL login that reads the IDENT database',
      "DB_PASSWORD: expected the SQL login's password",
    ]);
    assert.deepEqual(problems({ AMOCRM_SUBDOMAIN: 'clinic' }, ['amocrm']), [
      "AMOCRM_CLIENT_ID: expected the integration's ID, or set AMOCRM_LONG_LIVED_TOKEN to a long-lived token",
      "AMOCRM_CLIENT_SECRET: expected the integration's secret key from the same page",
    ]);
    assert.doesNotThrow(() =>
      loadConfig({ AMOCRM_SUBDOMAIN: 'clinic', AMOCRM_LONG_LIVED_TOKEN: 't' }, ['amocrm']),
    );
  });

  it('never echoes a secret in an error', () => {
    const [problem] = problems({ AMOCRM_BASE_URL: 'not a url', DB_PASSWORD: 'x' });
    assert.equal(problem, 'AMOCRM_BASE_URL="not a url": expected a URL starting with http:// or https://');
    const secretProblems = problems({ AMOCRM_REDIRECT_URI: 'ftp://x', AMOCRM_CLIENT_SECRET: 'very-secret' }, [
      'amocrm-oauth',
    ]);
    assert.ok(secretProblems.every((line) => !line.includes('very-secret')));
  });

  it("keeps the earlier Python integration's .env working", () => {
    const config = loadConfig(
      {
        AMOCRM_SUBDOMAIN: 'clinic',
        AMOCRM_CLIENT_ID: 'id',
        AMOCRM_CLIENT_SECRET: 'secret',
        AMOCRM_REDIRECT_URI: 'http://your-server.com:8080/callback',
        DB_HOST: 'srv',
        DB_PORT: '1433',
        DB_NAME: 'PZ',
        DB_USER: 'u',
        DB_PASSWORD: 'p',
        DB_DRIVER: '{ODBC Driver 18 for SQL Server}',
        USE_MOCK_AMOCRM: 'false',
        LOG_LEVEL: 'INFO',
        SYNC_INTERVAL_MINUTES: '5',
        DEEP_SYNC_HOUR_MORNING: '9',
        DEEP_SYNC_HOUR_EVENING: '21',
      },
      ['database', 'amocrm-oauth'],
    );
    assert.equal(config.log.level, 'info');
    assert.equal(config.sync.intervalMinutes, 5);
    assert.deepEqual(config.sync.deepSyncHours, [9, 21]);
    assert.match(config.notices[0]!, /DB_DRIVER is ignored/);
    assert.equal(loadConfig({ LOG_LEVEL: 'WARNING' }).log.level, 'warn');
    assert.equal(loadConfig({ AMOCRM_ACCESS_TOKEN: 'long-lived' }).amocrm.longLivedToken, 'long-lived');
    assert.match(problems({ USE_MOCK_AMOCRM: 'true' })[0]!, /npm run emulator/);
  });

  it('reads a .env file, with the real environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-'));
    const file = join(dir, '.env');
    writeFileSync(file, '# comment\nDB_HOST=from-file\nDB_NAME="PZ_TEST"\nBATCH_SIZE=20\n');
    const env = readEnvironment({ BATCH_SIZE: '10' }, file);
    const config = loadConfig({ ...env.source, DB_USER: 'u', DB_PASSWORD: 'p' }, ['database']);
    assert.equal(config.database?.host, 'from-file');
    assert.equal(config.database?.database, 'PZ_TEST');
    assert.equal(config.amocrm.batchSize, 10);
  });

  it('reads .env as docker compose does: # after a space is a comment, inside a value it is not', () => {
    const file = parseEnvFile(
      Buffer.from(
        [
          'DB_PASSWORD=abc#def',
          'AMOCRM_CLIENT_SECRET=s3cret #the integration key',
          "DB_USER='reader #1'",
          'DB_HOST="ident\\server"',
          'export TZ=Europe/Moscow',
          'SQL_DIR=$HOME/sql',
          'not a setting',
        ].join('\r\n'),
      ),
    );
    assert.deepEqual(file.values, {
      DB_PASSWORD: 'abc#def',
      AMOCRM_CLIENT_SECRET: 's3cret',
      DB_USER: 'reader #1',
      DB_HOST: 'ident\\server',
      TZ: 'Europe/Moscow',
      SQL_DIR: '$HOME/sql',
    });
    assert.deepEqual(
      file.warnings.map((warning) => warning.split(':')[0]),
      [
        'AMOCRM_CLIENT_SECRET',
        'SQL_DIR holds a "$" without single quotes',
        '.env line 7 is not KEY=value and is ignored; fix or remove it',
      ],
    );
  });

  it('drops a UTF-8 byte-order mark, and refuses a UTF-16 file with the fix', () => {
    const bom = parseEnvFile(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('DB_HOST=ident\n')]),
    );
    assert.deepEqual(bom.values, { DB_HOST: 'ident' });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('DB_HOST=ident\n', 'utf16le')]);
    assert.throws(() => parseEnvFile(utf16), /\.env is saved as UTF-16; save it as UTF-8/);
  });
});

describe('.env.example', () => {
  it('lists every variable the program reads, each under a comment', async () => {
    const { readFileSync } = await import('node:fs');
    const { environmentSchema } = await import('../../src/config/schema.ts');
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const lines = text.split('\n');
    const listed = lines.flatMap((line, index) => {
      // Commented out (`# STATE_DIR=./state`): a value the image sets, documented with its default.
      const match = /^(?:# )?([A-Z_]+)=/.exec(line);
      if (!match) return [];
      // A comment may cover a small group of related variables.
      const above =
        lines
          .slice(0, index)
          .reverse()
          .find((prior) => !/^[A-Z_]+=/.test(prior)) ?? '';
      assert.match(above, /^#/, `${match[1]} has a comment above it`);
      return [match[1]];
    });
    const legacy = ['AMOCRM_ACCESS_TOKEN', 'DB_DRIVER', 'USE_MOCK_AMOCRM'];
    const read = Object.keys(environmentSchema.shape).filter((name) => !legacy.includes(name));
    assert.deepEqual([...listed].sort(), [...read].sort());
  });
});
