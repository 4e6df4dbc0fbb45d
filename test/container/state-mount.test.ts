import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ActionableError } from '../../src/errors.ts';
import { isMountPoint, mountPoints, requireStateMount } from '../../src/support/state-mount.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli, unreachableDbEnv } from '../helpers/cli.ts';

// The image sets IDENT_SYNC_REQUIRE_STATE_MOUNT=1: a `docker run` without `-v` must not keep the
// tokens and the sync state in the container's layer, lost with `docker rm`.
const line = (point: string) => `1234 1200 0:77 / ${point} rw,relatime - ext4 /dev/sda1 rw`;
const fakeMountinfo = (...points: string[]) =>
  [line('/'), line('/proc'), line('/tmp'), ...points.map(line)].join('\n') + '\n';

describe('the state mount check of the image', () => {
  const stateDir = realpathSync(tempDir());

  it('passes when STATE_DIR is a mount point (a named volume, a bind mount)', () => {
    const info = fakeMountinfo(stateDir);
    assert.equal(isMountPoint(stateDir, info), true);
    requireStateMount(stateDir, { IDENT_SYNC_REQUIRE_STATE_MOUNT: '1' }, () => info);
  });

  it('refuses to start without a mount, with one sentence naming the -v to add', () => {
    const info = fakeMountinfo('/var/lib/other');
    assert.equal(isMountPoint(stateDir, info), false);
    assert.throws(
      () => requireStateMount(stateDir, { IDENT_SYNC_REQUIRE_STATE_MOUNT: '1' }, () => info),
      (error: ActionableError) => {
        assert.equal(error.exitCode, 2);
        assert.equal(error.message.split('\n').length, 1);
        assert.match(error.message, new RegExp(`^STATE_DIR=${stateDir} is not a mounted volume`));
        assert.ok(error.message.includes(`-v ident-sync-state:${stateDir}`), error.message);
        assert.ok(error.message.includes('IDENT_SYNC_REQUIRE_STATE_MOUNT=0'), error.message);
        return true;
      },
    );
  });

  it('a folder inside a mount is not the mount; a link to a mount point counts as it', () => {
    const inner = join(stateDir, 'inner');
    mkdirSync(inner, { recursive: true });
    assert.equal(isMountPoint(inner, fakeMountinfo(stateDir)), false);
    assert.equal(isMountPoint(stateDir, fakeMountinfo(inner)), false);
  });

  it('a STATE_DIR that does not exist yet is no mount', () => {
    assert.equal(isMountPoint(join(stateDir, 'missing'), fakeMountinfo(stateDir)), false);
  });

  it("reads mountinfo's escapes (a space is \\040)", () => {
    assert.ok(mountPoints(`${line('/srv/my\\040state')}\n`).has('/srv/my state'));
  });

  it('on a host (variable unset) and with the explicit override (0) nothing is checked', () => {
    const info = fakeMountinfo();
    requireStateMount(stateDir, {}, () => info);
    requireStateMount(stateDir, { IDENT_SYNC_REQUIRE_STATE_MOUNT: '0' }, () => info);
  });

  it('without /proc it compares the devices of the folder and its parent', () => {
    // A temporary folder sits on the same file system as its parent: no mount.
    assert.equal(isMountPoint(stateDir, undefined), false);
    assert.equal(isMountPoint('/', undefined), true);
  });

  it('the daemon refuses to start in a container without a state mount: exit 2, one line, nothing written', async () => {
    const dir = tempDir();
    const run = await runCli(
      ['daemon'],
      unreachableDbEnv({
        STATE_DIR: dir,
        HEALTH_PORT: '0',
        AMOCRM_BASE_URL: 'http://127.0.0.1:1',
        AMOCRM_LONG_LIVED_TOKEN: 'long-lived-token-1234567890',
        IDENT_SYNC_REQUIRE_STATE_MOUNT: '1',
      }),
      { timeoutMs: 30_000 },
    );
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      `error: STATE_DIR=${dir} is not a mounted volume, so the amoCRM tokens and the sync state would be lost with the container; run it with \`-v ident-sync-state:${dir}\` (docker compose mounts one), or set IDENT_SYNC_REQUIRE_STATE_MOUNT=0 to keep them in the container on purpose\n`,
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it('it speaks before the folder checks: a STATE_DIR that cannot be written (read-only root) gets the mount sentence', async () => {
    const dir = '/proc/ident-sync-no-such-folder/state';
    const run = await runCli(
      ['daemon'],
      unreachableDbEnv({
        STATE_DIR: dir,
        HEALTH_PORT: '0',
        AMOCRM_BASE_URL: 'http://127.0.0.1:1',
        AMOCRM_LONG_LIVED_TOKEN: 'long-lived-token-1234567890',
        IDENT_SYNC_REQUIRE_STATE_MOUNT: '1',
      }),
      { timeoutMs: 30_000 },
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, new RegExp(`^error: STATE_DIR=${dir} is not a mounted volume`));
  });
});
