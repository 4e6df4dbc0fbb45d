import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { unfinishedLines } from '../../src/demo/run-demo.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

const demo = (args: string[], env: Record<string, string> = {}) =>
  runCli(['demo', '--no-keep', '--minutes', '1', '--port', '0', '--health-port', '0', ...args], env, {
    timeoutMs: 300_000,
  });

describe('ident-sync demo, its edges', () => {
  it('refuses a --state-dir that is a file, open to others, or holds a state, in one sentence, and ends', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const used = join(dir, 'used');
    mkdirSync(used, { mode: 0o700 });
    writeFileSync(join(used, 'state.sqlite'), '');
    for (const [stateDir, sentence] of [
      [file, `--state-dir ${file} is not a folder; point --state-dir at a folder`],
      [
        open,
        `--state-dir ${open} is writable by group or others (mode 777), so files in it may have been planted; point --state-dir at a new folder of this user's own (ident-sync creates it with mode 700)`,
      ],
      [
        used,
        `--state-dir ${used} already holds files (a previous demo's state?); the demo's emulator starts empty each time, so pick a new folder or remove ${used}`,
      ],
    ] as const) {
      // The process ends by itself (an emulator left serving would keep it alive until the kill).
      const result = await demo(['--state-dir', stateDir]);
      assert.equal(result.signal, null, `${stateDir}: ended by the test's kill`);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr, `error: ${sentence}\n`);
      assert.doesNotMatch(result.stdout, /DEMO/);
    }
  });

  it('says when the clinic was too big for --minutes, and removes the temporary state folder it made', async () => {
    const tmp = tempDir();
    // amoCRM's 7 requests a second (the emulator's limit) allow about 350 contacts a second, so
    // 100 000 patients take minutes however fast the machine is, and the demo ends first.
    const result = await demo(['--patients', '100000', '--receptions', '0', '--tick', '30'], { TMPDIR: tmp });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^The demo ended before the initial sync finished \(\d+ of 10000\d patients linked\); rerun with --minutes \d+\.$/m,
    );
    assert.match(result.stdout, /^state folder: +\/.*ident-sync-demo-\S+ \(removed when the demo ends\)$/m);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('estimates the minutes a clinic needs from the pace seen', () => {
    assert.deepEqual(
      unfinishedLines({
        initialDone: false,
        patients: { done: 40_000, of: 100_000 },
        receptions: { done: 0, of: 200_000 },
        elapsedMs: 120_000,
        minutes: 1,
      }),
      [
        'The demo ended before the initial sync finished (40000 of 100000 patients linked, 0 of 200000 receptions made deals); rerun with --minutes 19.',
      ],
    );
    assert.deepEqual(
      unfinishedLines({ initialDone: true, patients: { done: 300, of: 300 }, elapsedMs: 60_000, minutes: 1 }),
      ['The demo ended before the deep sync finished; rerun with --minutes 2.'],
    );
    assert.deepEqual(
      unfinishedLines({
        initialDone: false,
        patients: { done: 1000, of: 100_000 },
        elapsedMs: 120_000,
        minutes: 1,
      }),
      [
        'The demo ended before the initial sync finished (1000 of 100000 patients linked); rerun with --minutes 60 and fewer patients (--patients 24000).',
      ],
    );
  });
});
