/**
 * Attack a8: a 22 KB map under every bound (256 KB, 20 000 YAML tokens, nesting 5, each anchor
 * aliased at most 49 times, so `maxAliasCount: 50` lets it through): one anchored list of 9 400
 * wrong choices aliased by 49 fields. zod reports ~470 000 issues and parseYamlMap joins them into
 * one 42 MB message: under the container's --max-old-space-size=128 the process dies of heap
 * exhaustion (exit 134) instead of printing a sentence.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const list = Array.from({ length: 9_400 }, () => '0').join(',');
const fields = [`  - {key: k0, name: n, type: select, source: S, choices: &C [${list}]}`];
for (let i = 1; i <= 49; i++) fields.push(`  - {key: k${i}, name: n, type: select, source: S, choices: *C}`);
const map = `version: 1\nfields:\n${fields.join('\n')}\n`;

describe('a map with YAML aliases is refused in one short message within a container heap', () => {
  it('refuses the map in one short message within the container heap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'a8-map-'));
    const path = join(dir, 'map.yaml');
    writeFileSync(path, map);
    const script = `
      import { loadMapFile } from ${JSON.stringify(join(import.meta.dirname, '../../src/mapping/load-map.ts'))};
      try { loadMapFile(${JSON.stringify(path)}); console.log('accepted'); }
      catch (error) { console.log('refused', error.message.length); }`;
    const child = spawnSync(
      process.execPath,
      ['--max-semi-space-size=8', '--max-old-space-size=128', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(
      child.status,
      0,
      `exit ${child.status} ${child.signal ?? ''}: ${child.stderr.split('\n').find((line) => /heap|FATAL/.test(line)) ?? ''}`,
    );
    const length = Number(/refused (\d+)/.exec(child.stdout)?.[1]);
    assert.ok(length < 100_000, `the refusal is ${length} characters long`);
  });
});

describe('a map with many schema problems', () => {
  it('shows at most 20 of them and counts the rest', async () => {
    const { parseMap } = await import('../../src/mapping/load-map.ts');
    const many = `version: 1\nfields:\n  - {key: k0, name: n, type: select, source: S, choices: [${Array.from({ length: 500 }, () => '0').join(',')}]}\n`;
    let message = '';
    try {
      parseMap(many, 'many.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    const lines = message.split('\n');
    assert.ok(lines.length <= 21, `${lines.length} lines`);
    assert.match(lines.at(-1)!, /…and \d+ more problems/);
  });

  it('refuses an alias naming its line, even one that would be valid', async () => {
    const { parseMap } = await import('../../src/mapping/load-map.ts');
    assert.throws(
      () =>
        parseMap('version: 1\nfields:\n  - &F {key: k, name: n, type: text, source: S}\n  - *F\n', 'a.yaml'),
      /a\.yaml: YAML refused: an alias \(\*name\) on line 4/,
    );
  });
});
