import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const EMULATOR = fileURLToPath(new URL('../../bin/emulator.js', import.meta.url));

/** A Node older than 24 on this machine (the system's, which PATH had before .ci/node24.sh). */
function olderNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout;
    if (Number(version.split('.')[0]) < 24) return candidate;
  }
  return undefined;
}
const older = olderNode();

const run = (node: string, env: Record<string, string>) =>
  spawnSync(node, [EMULATOR], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', ...env },
  });

describe('npm run emulator', () => {
  it(
    'under an older Node says in one sentence to put Node 24 on PATH (no stack trace)',
    { skip: older ? false : 'no Node older than 24 on this machine' },
    () => {
      const result = run(older!, { EMULATOR_PORT: '0' });
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr,
        `error: the amoCRM emulator needs Node.js 24 or later, this is ${spawnSync(older!, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim()}; run \`source .ci/node24.sh\` in this shell first (or \`make emulator\`)\n`,
      );
    },
  );

  it('on a busy port says so in one sentence, naming EMULATOR_PORT', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const result = run(process.execPath, { EMULATOR_PORT: String(port) });
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr,
        `error: port ${port} on 127.0.0.1 is already in use (another emulator or a demo?): stop it, or set EMULATOR_PORT to a free port\n`,
      );
      assert.equal(result.stdout, '');
    } finally {
      busy.close();
    }
  });

  it('refuses a port that is not a number in one sentence', () => {
    const result = run(process.execPath, { EMULATOR_PORT: '80x' });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'error: EMULATOR_PORT="80x": expected a port number from 0 to 65535\n');
  });
});
