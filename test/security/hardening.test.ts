import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOKEN_FILE, TokenStore } from '../../src/amocrm/token-store.ts';
import { DEFAULT_MAPPING_FILE } from '../../src/config/config.ts';
import { writeFileAtomic } from '../../src/support/atomic-file.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { startEmulator, tempDir } from '../helpers/amocrm.ts';
import { freePort, runCli, spawnCli, unreachableDbEnv } from '../helpers/cli.ts';

const tokens = (baseUrl: string) => ({
  baseUrl,
  accessToken: 'acc_0123456789abcdef',
  refreshToken: 'ref_0123456789abcdef',
  expiresAt: Date.now() + 3_600_000,
  obtainedAt: Date.now(),
});

/** Sockets listening on `port`, as the kernel lists them: local addresses in hex (0100007F = 127.0.0.1). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
      .map((fields) => fields[1]!.split(':')[0]!);
  });
}

describe('the token file cannot be taken through its folder', () => {
  it('a symlink planted where the token file goes is refused, and its target is untouched', () => {
    const dir = tempDir();
    const target = join(tempDir(), 'root-owned.conf');
    writeFileSync(target, 'important\n');
    symlinkSync(target, join(dir, TOKEN_FILE));
    assert.throws(() => new TokenStore(dir).write(tokens('https://clinic.amocrm.ru')), /is a symbolic link/);
    assert.throws(() => new TokenStore(dir).read(), /is a symbolic link/);
    assert.equal(readFileSync(target, 'utf8'), 'important\n');
  });

  it('temporary files have unguessable names: files or links planted at the old predictable names change nothing', () => {
    const dir = tempDir();
    const path = join(dir, TOKEN_FILE);
    const outside = join(tempDir(), 'victim');
    writeFileSync(outside, 'untouched\n');
    // What another user could prepare when the name was `${path}.${pid}.tmp`.
    writeFileSync(`${path}.${process.pid}.tmp`, 'attacker', { mode: 0o666 });
    symlinkSync(outside, `${path}.${process.pid + 1}.tmp`);
    writeFileAtomic(path, 'secret\n');
    assert.equal(readFileSync(path, 'utf8'), 'secret\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(!lstatSync(path).isSymbolicLink());
    assert.equal(readFileSync(outside, 'utf8'), 'untouched\n');
  });
});

describe('STATE_DIR must be this user’s alone', () => {
  it('a folder writable by group or others is refused, exit code 2, naming STATE_DIR and the fix', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const run = await runCli(['fields'], {
      STATE_DIR: dir,
      AMOCRM_BASE_URL: 'http://127.0.0.1:1',
      AMOCRM_LONG_LIVED_TOKEN: 't',
    });
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^error: STATE_DIR=.* is writable by group or others \(mode 777\), so files in it may have been planted; point STATE_DIR at a new folder of this user's own/m,
    );
  });

  it(
    'a folder of another user is refused',
    { skip: process.getuid?.() !== 0 && 'needs root to give a folder away' },
    async () => {
      const dir = tempDir();
      chownSync(dir, 4242, 4242);
      const run = await runCli(['fields'], {
        STATE_DIR: dir,
        AMOCRM_BASE_URL: 'http://127.0.0.1:1',
        AMOCRM_LONG_LIVED_TOKEN: 't',
      });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /STATE_DIR=.* belongs to another user \(uid 4242\)/);
    },
  );

  it('a folder that cannot be created names STATE_DIR', async () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'file'), '');
    const run = await runCli(['fields'], {
      STATE_DIR: join(parent, 'file', 'state'),
      AMOCRM_BASE_URL: 'http://127.0.0.1:1',
      AMOCRM_LONG_LIVED_TOKEN: 't',
    });
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^error: STATE_DIR=.* cannot be created \(ENOTDIR\); point STATE_DIR at a folder this user may write/m,
    );
  });
});

describe('listening addresses', () => {
  let emulator: AmoCrmEmulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator.stop();
  });

  it('`auth` listens on the redirect URL’s host: localhost means this machine only', async () => {
    const port = await freePort();
    const auth = spawnCli(['auth', '--timeout', '1'], {
      PATH: process.env.PATH ?? '',
      ENV_FILE: '/nonexistent',
      STATE_DIR: tempDir(),
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_CLIENT_ID: emulator.options.clientId,
      AMOCRM_CLIENT_SECRET: emulator.options.clientSecret,
      AMOCRM_REDIRECT_URI: `http://localhost:${port}/callback`,
    });
    await auth.waitFor(/Waiting for amoCRM on port/);
    assert.deepEqual(listeners(port), ['0100007F']);
    await auth.terminate();
  });

  it('the health endpoint listens on 127.0.0.1 unless HEALTH_HOST says otherwise', async () => {
    const port = await freePort();
    const daemon = spawnCli(
      ['daemon'],
      unreachableDbEnv({
        AMOCRM_BASE_URL: emulator.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: 't',
        HEALTH_PORT: String(port),
      }),
    );
    await daemon.waitFor(/health endpoint listening/);
    assert.deepEqual(listeners(port), ['0100007F']);
    await daemon.terminate();
  });

  it('`auth --timeout` out of range or not a number: exit 2', async () => {
    for (const timeout of ['0', 'soon', '500']) {
      const run = await runCli(['auth', '--timeout', timeout], { STATE_DIR: tempDir() });
      assert.equal(run.code, 2, timeout);
      assert.match(run.stderr, /--timeout .*: expected whole minutes from 1 to 120/);
    }
  });
});

describe('clear errors instead of an unexpected one', () => {
  it('a token file holding null: the daemon waits for `ident-sync auth`, unhealthy, instead of retrying amoCRM', async () => {
    const stateDir = tempDir();
    writeFileSync(join(stateDir, TOKEN_FILE), 'null\n', { mode: 0o600 });
    const port = await freePort();
    const daemon = spawnCli(
      ['daemon'],
      unreachableDbEnv({
        STATE_DIR: stateDir,
        AMOCRM_SUBDOMAIN: 'clinic',
        AMOCRM_CLIENT_ID: 'id',
        AMOCRM_CLIENT_SECRET: 'secret',
        HEALTH_PORT: String(port),
      }),
    );
    await daemon.waitFor(/amoCRM refuses this integration/);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { reason: string };
    assert.match(health.reason, /amocrm-tokens\.json is incomplete; run `ident-sync auth`/);
    assert.doesNotMatch(daemon.output(), /start-up failed; retrying/);
    await daemon.terminate();
  });

  it('a YAML alias bomb or an oversized map: exit 2 naming the file', async () => {
    const dir = tempDir();
    const bomb = join(dir, 'bomb.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let level = 1; level < 9; level++) {
      const previous = String.fromCharCode(96 + level);
      levels.push(
        `${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(9).fill(`*${previous}`).join(',')}]`,
      );
    }
    writeFileSync(bomb, `${levels.join('\n')}\n`);
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, `${readFileSync(DEFAULT_MAPPING_FILE, 'utf8')}\n# ${'x'.repeat(300_000)}\n`);
    const many = join(dir, 'many.yaml');
    const field = (index: number) =>
      `  - { key: f${index}, name: Поле ${index}, type: text, source: Surname }`;
    writeFileSync(
      many,
      readFileSync(DEFAULT_MAPPING_FILE, 'utf8').replace(
        /^fields:\n/m,
        `fields:\n${Array.from({ length: 201 }, (_, index) => field(index)).join('\n')}\n`,
      ),
    );
    for (const [file, problem] of [
      [bomb, /bomb\.yaml: YAML refused: .*alias/i],
      [huge, /huge\.yaml: is larger than 256 KB/],
      [many, /many\.yaml: lists \d+ fields; at most 200 are accepted/],
    ] as const) {
      const run = await runCli(['fields'], {
        MAPPING_FILE: file,
        STATE_DIR: tempDir(),
        AMOCRM_BASE_URL: 'http://127.0.0.1:1',
        AMOCRM_LONG_LIVED_TOKEN: 't',
      });
      assert.equal(run.code, 2, `${file}: ${run.stderr}`);
      assert.match(run.stderr, problem);
    }
  });

  it('`ident-sync sync` stops within 15 s of SIGTERM while amoCRM cannot be reached', async () => {
    const sync = spawnCli(
      ['sync'],
      unreachableDbEnv({
        AMOCRM_BASE_URL: `http://127.0.0.1:${await freePort()}`,
        AMOCRM_LONG_LIVED_TOKEN: 't',
      }),
    );
    await sync.waitFor(/amoCRM did not answer; retrying/);
    const { ms } = await sync.terminate();
    assert.ok(ms < 15_000, `stopped after ${ms} ms`);
  });
});
