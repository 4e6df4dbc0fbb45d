import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const server = { DB_USER: 'reader', DB_PASSWORD: 'secret-pw', DB_NAME: 'PZ' };

const accepted = (env: Record<string, string>) => {
  try {
    loadConfig(env, ['database']);
    return true;
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return false;
  }
};

/**
 * Attack (a11): the "same database twice" check compared the host text. One SQL Server reached by
 * two spellings (localhost / 127.0.0.1, a trailing dot) passed, and the chain then read one
 * database under two keys: every reception became two deals. (A named instance, server\INSTANCE,
 * is not the default instance on 1433: not the same database. The start also compares the sources'
 * patient counts and newest change: context.ts, openSources.)
 */
describe('a clinic chain: one database under two keys, spelled two ways', () => {
  for (const [label, env] of [
    [
      'localhost vs 127.0.0.1',
      { ...server, DB_HOST: 'localhost', SOURCES: 'center,north', SOURCE_NORTH_DB_HOST: '127.0.0.1' },
    ],
    [
      'trailing dot',
      { ...server, DB_HOST: 'ident-server', SOURCES: 'center,north', SOURCE_NORTH_DB_HOST: 'ident-server.' },
    ],
  ] as const)
    it(`is refused: ${label}`, () =>
      assert.equal(accepted(env), false, 'accepted: both keys read one database'));
});
