// Maps a person points ident-sync at are bounded before they are parsed: bytes, nesting and YAML
// tokens (issue 22 security follow-up, items 2 and 3; found by the attacker's tests).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_MAPPING_FILE } from '../../src/config/config.ts';
import { MapFileError, parseMap, yamlTokenCount } from '../../src/mapping/load-map.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ident-sync.js');

function testDbWithMap(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'map-bounds-'));
  const map = join(dir, 'map.yaml');
  writeFileSync(map, text);
  return spawnSync(process.execPath, [BIN, 'test-db'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      PATH: process.env.PATH,
      ENV_FILE: join(dir, 'none'),
      DB_HOST: '127.0.0.1',
      DB_PORT: '49501',
      DB_USER: 'u',
      DB_PASSWORD: 'p',
      DB_NAME: 'x',
      MAPPING_FILE: map,
      // The image's own heap settings (Dockerfile ENV NODE_OPTIONS).
      NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=128',
    },
  });
}

const problemOf = (text: string) => {
  try {
    parseMap(text, 'map.yaml');
  } catch (error) {
    assert.ok(error instanceof MapFileError, String(error));
    return error.problems.join('\n');
  }
  return 'accepted';
};

describe('a shallow map is bounded before it is parsed', () => {
  it('a 400 KB flat flow sequence is refused in one sentence under the container heap, not a V8 heap abort', () => {
    const run = testDbWithMap(`version: 1\nfields: [${'0,'.repeat(200_000)}0]\n`);
    assert.equal(
      run.signal,
      null,
      `killed by ${run.signal}: ${run.stderr.split('\n').find((l) => /FATAL/.test(l))}`,
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /map\.yaml: is larger than 256 KB/);
  });

  it('a flat sequence under the byte cap is refused by the token bound before parsing', () => {
    assert.match(
      problemOf(`version: 1\nfields: [${'0,'.repeat(100_000)}0]\n`),
      /^holds more than 20000 YAML values and signs, which no map needs; restore the file from the release$/,
    );
  });

  it('40 000 distinct keys (470 KB) are refused before parsing', () => {
    const text = `version: 1\nx:\n${Array.from({ length: 40_000 }, (_, i) => `  k${i}: 0\n`).join('')}`;
    assert.match(problemOf(text), /holds more than 20000 YAML values/);
  });

  it('the shipped map is far inside the token bound; spaces and comments do not count', () => {
    const shipped = readFileSync(DEFAULT_MAPPING_FILE, 'utf8');
    assert.ok(yamlTokenCount(shipped, Infinity) < 2_000);
    assert.equal(yamlTokenCount('a: 1  # one two three\n\n   \nb: [x, y]\n', Infinity), 10);
  });

  it('a key written twice in a nested mapping is named with its line (checked without the quadratic uniqueKeys)', () => {
    assert.equal(
      problemOf('version: 1\nx:\n  a: 1\n  b: 2\n  a: 3\n'),
      'YAML syntax: map keys must be unique, and "a" appears twice (line 5); keep one',
    );
    // 1 and "1" are different keys, as the yaml library's own check had them.
    assert.doesNotMatch(problemOf('version: 1\nx:\n  1: a\n  "1": b\n'), /unique/);
  });
});
