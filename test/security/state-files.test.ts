import assert from 'node:assert/strict';
import { chmodSync, chownSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TOKEN_FILE } from '../../src/amocrm/token-store.ts';
import { SharedPace } from '../../src/amocrm/shared-pace.ts';
import { takeOwnerLock, takeRunLock } from '../../src/state/locks.ts';
import { StateStore } from '../../src/state/store.ts';
import { ensureStateDir } from '../../src/support/state-dir.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

const modeOf = (path: string) => statSync(path).mode & 0o777;
const asRoot = { skip: process.getuid?.() !== 0 && 'needs root to give a file away' };

const plantedToken = JSON.stringify({
  baseUrl: 'https://planted.amocrm.ru',
  accessToken: 'planted-access',
  refreshToken: 'planted-refresh',
  expiresAt: Date.now() + 3_600_000,
  obtainedAt: Date.now(),
});

describe('every file in STATE_DIR is readable by its owner alone (issue 22, item 13)', () => {
  it('the state database, its -wal and -shm, the locks and the pace file are created 0600 whatever the umask', async () => {
    const dir = tempDir();
    const umask = process.umask(0o022);
    try {
      const store = new StateStore(dir);
      const owner = takeOwnerLock(dir);
      const run = await takeRunLock(dir, 1000);
      const pace = new SharedPace(dir);
      const files = readdirSync(dir);
      for (const name of ['state.sqlite', 'state.sqlite-wal', 'state.sqlite-shm', 'owner.lock', 'run.lock'])
        assert.ok(files.includes(name), `${name} in ${files.join(', ')}`);
      for (const name of files) assert.equal(modeOf(join(dir, name)).toString(8), '600', name);
      run.release();
      owner.release();
      pace.close();
      store.close();
    } finally {
      process.umask(umask);
    }
  });

  it('a state database of ours left 0644 by an earlier version is narrowed to 0600 when opened', () => {
    const dir = tempDir();
    new StateStore(dir).close();
    chmodSync(join(dir, 'state.sqlite'), 0o644);
    new StateStore(dir).close();
    assert.equal(modeOf(join(dir, 'state.sqlite')), 0o600);
  });

  it('a folder of ours that others may read (0755) is narrowed to 0700', () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    ensureStateDir(dir);
    assert.equal(modeOf(dir), 0o700);
  });

  it('`status` (read-only) changes no modes: a folder others may read (0755) is refused, left 0755', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const run = await runCli(['status'], { STATE_DIR: dir });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(
      run.stderr,
      /^error: STATE_DIR=.* may be read by group or others \(mode 755\); run `chmod 700 /m,
    );
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.equal(modeOf(dir), 0o755);
  });

  it('`status` refuses a folder others may write, without reading the token planted there', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, TOKEN_FILE), plantedToken, { mode: 0o644 });
    chmodSync(dir, 0o777);
    const run = await runCli(['status'], { STATE_DIR: dir });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /^error: STATE_DIR=.* is writable by group or others \(mode 777\)/m);
    assert.doesNotMatch(run.stdout + run.stderr, /planted\.amocrm|planted-/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  });

  it('`status` as root refuses a token file of another user and leaves its mode alone', asRoot, async () => {
    const dir = tempDir();
    const path = join(dir, TOKEN_FILE);
    writeFileSync(path, plantedToken, { mode: 0o644 });
    chownSync(path, 4242, 4242);
    const run = await runCli(['status'], { STATE_DIR: dir });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /amocrm-tokens\.json belongs to another user \(uid 4242\)/);
    assert.equal(modeOf(path), 0o644);
    assert.equal(statSync(path).uid, 4242);
  });

  it('a state database of another user is refused, never opened or changed', asRoot, () => {
    const dir = tempDir();
    new StateStore(dir).close();
    const path = join(dir, 'state.sqlite');
    chmodSync(path, 0o644);
    chownSync(path, 4242, 4242);
    assert.throws(() => new StateStore(dir), /state database .* belongs to another user \(uid 4242\)/);
    assert.equal(modeOf(path), 0o644);
  });
});
