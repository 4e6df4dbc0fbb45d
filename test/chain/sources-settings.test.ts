import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { sourcesProblem } from '../../src/sources/state-check.ts';

const server = { DB_HOST: 'ident-server', DB_USER: 'reader', DB_PASSWORD: 'secret-pw', DB_NAME: 'PZ' };
const BIN = join(import.meta.dirname, '../../bin/ident-sync.js');

/** Attack (a11): the operator's settings of a chain, as typed. */
describe('a clinic chain: SOURCES of only commas/spaces', () => {
  it('SOURCES="," is refused with one sentence naming the fix (it is a chain of no source)', () => {
    let problems: readonly string[] = [];
    try {
      const config = loadConfig({ ...server, SOURCES: ' , ' }, ['database']);
      assert.fail(`accepted: chain=${config.chain}, ${config.scopes.length} source(s)`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /SOURCES/);
  });

  it('test-db with SOURCES="," does not report success having checked no database', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'a11-empty-sources-'));
    const run = spawnSync(process.execPath, [BIN, 'test-db'], {
      env: {
        PATH: process.env.PATH,
        ...server,
        SOURCES: ',',
        STATE_DIR: stateDir,
        ENV_FILE: join(stateDir, 'none.env'),
      },
      encoding: 'utf8',
    });
    assert.notEqual(run.status, 0, `exit 0 with output: ${JSON.stringify(run.stdout + run.stderr)}`);
  });
});

describe('a clinic chain: renaming the bare clinic’s key', () => {
  it('the fix the sentence names is one that is then accepted', () => {
    // The chain ran with center bare; the operator renames center → centre in SOURCES and SOURCE_BARE_IDS.
    const problem = sourcesProblem(
      [
        { key: 'centre', bare: true },
        { key: 'north', bare: false },
      ],
      new Map([
        ['', 10],
        ['north', 5],
      ]),
      'center',
    );
    assert.ok(problem);
    // Following the sentence (SOURCES=center,north with SOURCE_BARE_IDS=center) is accepted.
    let again: readonly string[] = [];
    try {
      loadConfig(
        {
          ...server,
          SOURCES: /SOURCES=([a-z,]+)/.exec(problem)![1]!,
          SOURCE_NORTH_DB_NAME: 'N',
          SOURCE_CENTER_DB_NAME: 'C',
          SOURCE_BARE_IDS: /SOURCE_BARE_IDS=([a-z]+)/.exec(problem)![1]!,
        },
        ['database'],
      );
    } catch (error) {
      if (error instanceof ConfigError) again = error.problems;
    }
    assert.deepEqual(again, [], `following "${problem}" gives: ${again.join(' | ')}`);
  });
});
