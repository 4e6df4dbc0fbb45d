import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SQL_DIR } from '../../src/config/config.ts';
import { loadSqlFiles } from '../../src/ident/sql-files.ts';
import { readMapText, yamlNesting } from '../../src/mapping/load-map.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

const fields = (mappingFile: string) =>
  runCli(
    ['fields'],
    {
      MAPPING_FILE: mappingFile,
      STATE_DIR: tempDir(),
      AMOCRM_BASE_URL: 'http://127.0.0.1:1',
      AMOCRM_LONG_LIVED_TOKEN: 't',
    },
    // Before the fix /dev/zero read until memory ran out and a FIFO hung: killed here, they fail.
    { timeoutMs: 30_000 },
  );

describe('files a person names are small regular files (issue 22, item 15)', () => {
  it('MAPPING_FILE=/dev/zero, a named pipe or a folder: exit 2 at once, one sentence naming the file', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'map.fifo');
    execFileSync('mkfifo', [fifo]);
    const folder = join(dir, 'folder.yaml');
    mkdirSync(folder);
    for (const [file, kind] of [
      ['/dev/zero', 'a device or socket'],
      [fifo, 'a named pipe'],
      [folder, 'a folder'],
    ] as const) {
      const run = await fields(file);
      assert.equal(run.code, 2, `${file}: ${run.signal ?? ''} ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`is not a regular file \\(${kind}\\); set MAPPING_FILE`));
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    }
  });

  it('a 200 KB map nested [[[[… or - - - -… deep is refused before it is parsed', async () => {
    const dir = tempDir();
    for (const [name, text] of [
      ['brackets.yaml', '['.repeat(200_000)],
      ['maps.yaml', '{a: '.repeat(50_000)],
      ['dashes.yaml', `${'- '.repeat(100_000)}x\n`],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const run = await fields(file);
      assert.equal(run.code, 2, `${name}: ${run.signal ?? ''} ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`${name}: nests deeper than 32 levels`));
    }
  });

  it('the nesting bound reads quotes and comments as YAML does: brackets there do not count or cancel', () => {
    assert.ok(yamlNesting(`a: "${'['.repeat(100)}"\nb: '${'{'.repeat(100)}' # ${'['.repeat(100)}\n`) < 5);
    const hidden = Array.from({ length: 40 }, () => '[ "]" # ]').join('\n');
    assert.ok(yamlNesting(hidden) > 32);
  });

  it('the deal map is read the same way', () => {
    assert.throws(() => readMapText('/dev/zero', 'DEAL_MAPPING_FILE'), /is not a regular file/);
  });

  it('an SQL file that is a named pipe stops loading, naming it', () => {
    const dir = tempDir();
    cpSync(DEFAULT_SQL_DIR, dir, { recursive: true });
    const clock = join(dir, 'clock.sql');
    execFileSync('rm', [clock]);
    execFileSync('mkfifo', [clock]);
    assert.throws(() => loadSqlFiles(dir), /clock\.sql \(is not a regular file \(a named pipe\)\)/);
  });
});
