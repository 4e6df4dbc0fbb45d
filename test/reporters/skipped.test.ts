import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/amocrm.ts';

const REPORTER = fileURLToPath(new URL('./skipped.ts', import.meta.url));

describe('the test summary', () => {
  it('names every skipped suite and test, and todo, with its reason at the end', () => {
    const dir = tempDir();
    const file = join(dir, 'fixture.test.ts');
    writeFileSync(
      file,
      `import { describe, it } from 'node:test';
describe('needs a database', { skip: 'no container runtime here' }, () => { it('reads', () => {}); });
it('runs', () => {});
it('needs root', { skip: true }, () => {});
it('an open finding', { todo: 'not fixed yet' }, () => {});
`,
    );
    const run = spawnSync(
      process.execPath,
      [
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${REPORTER}`,
        '--test-reporter-destination=stdout',
        file,
      ],
      // Without NODE_TEST_CONTEXT: the child would report to this runner instead of printing.
      { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
    );
    assert.equal(run.status, 0, run.stderr);
    const tail = run.stdout.slice(run.stdout.lastIndexOf('did not run'));
    assert.match(tail, /^did not run or are todo:\n/);
    assert.match(tail, /skipped: needs a database \(fixture\.test\.ts\): no container runtime here/);
    assert.match(tail, /skipped: needs root \(fixture\.test\.ts\): no reason given/);
    assert.match(tail, /todo: +an open finding \(fixture\.test\.ts\): not fixed yet/);
    assert.doesNotMatch(tail, /runs/);
    assert.match(run.stdout, /^3 test\(s\) or suite\(s\) did not run or are todo:$/m);
  });

  it('is part of npm test', async () => {
    const { default: manifest } = await import('../../package.json', { with: { type: 'json' } });
    for (const script of ['test', 'test:unit'] as const)
      assert.match(manifest.scripts[script], /--test-reporter=\.\/test\/reporters\/skipped\.ts/, script);
  });
});
