import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/amocrm.ts';

/**
 * `.ci/node24.sh` under the machine's older Node (what `make demo` and `make test` source first):
 * a registry it cannot reach, and a toolchain an interrupted download left behind.
 */
const OLD_NODE = '/usr/bin/node';
const olderNode = (() => {
  try {
    return Number(execFileSync(OLD_NODE, ['-p', 'process.versions.node.split(".")[0]']).toString()) < 24;
  } catch {
    return false;
  }
})();
const skip = olderNode ? false : `no Node.js older than 24 at ${OLD_NODE}`;

function sourced(root: string) {
  return spawnSync('bash', ['-c', 'source .ci/node24.sh && node --version'], {
    cwd: root,
    encoding: 'utf8',
    // The older Node first, and a registry nobody answers on: nothing is downloaded.
    env: {
      ...process.env,
      PATH: `/usr/bin:${process.env.PATH}`,
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_fetch_retries: '0',
    },
  });
}

function checkout(): string {
  const root = tempDir('node24-');
  mkdirSync(join(root, '.ci'));
  cpSync('.ci/node24.sh', join(root, '.ci/node24.sh'));
  return root;
}

describe('.ci/node24.sh on a machine with an older Node', { skip }, () => {
  it('a registry it cannot reach: one sentence naming the network, a failure, nothing half-made', () => {
    const root = checkout();
    const run = sourced(root);
    assert.notEqual(run.status, 0);
    assert.match(
      run.stderr,
      /^error: could not fetch Node\.js [\d.]+ from the npm registry \(http:\/\/127\.0\.0\.1:9\/\): .*check this machine's network or proxy/m,
    );
    assert.ok(!existsSync(join(root, '.toolchain', 'node-24.21.0')), 'no toolchain left behind');
  });

  it('a node an interrupted download left that cannot run is fetched again, not used', () => {
    const root = checkout();
    const bin = join(root, '.toolchain/node-24.21.0/bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'node'), Buffer.alloc(4096, 0x7f));
    chmodSync(join(bin, 'node'), 0o700);
    const run = sourced(root);
    assert.match(run.stdout, /does not run \(an earlier download was cut short\): fetching it again/);
    assert.notEqual(run.status, 0, 'the fetch fails here (no registry), and says so');
    assert.ok(!existsSync(join(bin, 'node')), 'the broken node is gone');
  });
});
