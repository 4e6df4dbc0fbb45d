import assert from 'node:assert/strict';
import { chownSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOKEN_FILE } from '../../src/amocrm/token-store.ts';
import { everyInterfaceWarning } from '../../src/cli/commands/auth.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { startEmulator, tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

describe('`auth --code` checks the token file before it spends the single-use code (issue 22, item 14)', () => {
  let emulator: AmoCrmEmulator;
  let env: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ redirectUri: 'http://127.0.0.1:41080/callback' });
    env = {
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_CLIENT_ID: emulator.options.clientId,
      AMOCRM_CLIENT_SECRET: emulator.options.clientSecret,
      AMOCRM_REDIRECT_URI: emulator.options.redirectUri,
    };
  });
  after(async () => {
    await emulator.stop();
  });

  /** The code was not exchanged: it still works in a clean folder. */
  async function stillValid(code: string) {
    const run = await runCli(['auth', '--code', code], { ...env, STATE_DIR: tempDir() });
    assert.equal(run.code, 0, run.stderr);
  }

  it('a symlink where the token file goes: refused in one sentence, the code still valid, the target untouched', async () => {
    const dir = tempDir();
    const target = join(tempDir(), 'victim');
    writeFileSync(target, 'untouched\n');
    symlinkSync(target, join(dir, TOKEN_FILE));
    const code = emulator.issueCode();
    const run = await runCli(['auth', '--code', code], { ...env, STATE_DIR: dir });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^error: the amoCRM token file .* is a symbolic link; remove it/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.equal(readFileSync(target, 'utf8'), 'untouched\n');
    await stillValid(code);
  });

  it(
    'a token file of another user: refused before the exchange',
    { skip: process.getuid?.() !== 0 && 'needs root to give a file away' },
    async () => {
      const dir = tempDir();
      writeFileSync(join(dir, TOKEN_FILE), '{}', { mode: 0o644 });
      chownSync(join(dir, TOKEN_FILE), 4242, 4242);
      const code = emulator.issueCode();
      const run = await runCli(['auth', '--code', code], { ...env, STATE_DIR: dir });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /belongs to another user \(uid 4242\)/);
      await stillValid(code);
    },
  );
});

describe('a redirect URL on every interface (issue 22, item 17)', () => {
  it('0.0.0.0 or [::] is warned about in one sentence; a named host or localhost is not', () => {
    for (const uri of ['http://0.0.0.0:41081/callback', 'http://[::]:41081/callback'])
      assert.match(
        everyInterfaceWarning(new URL(uri)) ?? '',
        /^AMOCRM_REDIRECT_URI names (0\.0\.0\.0|\[::\]), so the callback listens on every network interface of this machine; /,
      );
    for (const uri of [
      'http://localhost:41081/callback',
      'http://192.168.1.20:41081/callback',
      'http://[::1]:41081/x',
    ])
      assert.equal(everyInterfaceWarning(new URL(uri)), undefined, uri);
  });
});
