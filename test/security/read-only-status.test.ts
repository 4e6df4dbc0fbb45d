// `status` only reads: it changes no mode in STATE_DIR and creates no file there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StateStore } from '../../src/state/store.ts';

function stateWithEnv(): { work: string; state: string; db: string } {
  const work = mkdtempSync(join(tmpdir(), 'status-ro-'));
  const state = join(work, 'state');
  mkdirSync(state, { mode: 0o700 });
  new StateStore(state).close();
  writeFileSync(
    join(work, '.env'),
    `STATE_DIR=${state}\nAMOCRM_SUBDOMAIN=clinic\nAMOCRM_LONG_LIVED_TOKEN=abc\nDB_HOST=127.0.0.1\nDB_USER=u\nDB_PASSWORD=p\n`,
  );
  return { work, state, db: join(state, 'state.sqlite') };
}

const status = (work: string) =>
  spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/ident-sync.js'), 'status'], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: work },
  });

describe('status changes nothing in STATE_DIR', () => {
  it('creates no -wal/-shm beside a closed state database', () => {
    const { work, state } = stateWithEnv();
    const before = readdirSync(state).sort();
    const child = status(work);
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(readdirSync(state).sort(), before);
  });

  it('refuses a state database others may read in one sentence, leaving its mode', () => {
    const { work, db } = stateWithEnv();
    chmodSync(db, 0o644);
    const child = status(work);
    assert.equal(child.status, 2, child.stdout);
    assert.match(child.stderr, /state\.sqlite may be read by group or others \(mode 644\); run `chmod 600 /);
    assert.equal(child.stderr.trim().split('\n').length, 1, child.stderr);
    assert.equal((statSync(db).mode & 0o777).toString(8), '644');
    assert.equal(existsSync(`${db}-wal`) || existsSync(`${db}-shm`), false);
  });
});
