import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { startEmulator, tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The files the Dockerfile puts in the image: compiled JavaScript, no TypeScript sources. */
function imageLayout(): string {
  const app = tempDir('ident-sync-image-');
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(app, 'dist'),
    ],
    { stdio: 'pipe' },
  );
  for (const entry of ['package.json', 'bin', 'sql', 'mapping'])
    cpSync(join(ROOT, entry), join(app, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  return app;
}

describe('the compiled build, laid out as in the container image', () => {
  let app: string;
  let emulator: AmoCrmEmulator;

  before(async () => {
    app = imageLayout();
    emulator = await startEmulator({ longLivedTokens: ['compiled-build-token'] });
  });
  after(async () => {
    await emulator.stop();
  });

  it('runs from dist/ with its sql/ and mapping/ found, and creates the fields in amoCRM', async () => {
    assert.equal(existsSync(join(app, 'src')), false);
    assert.equal(existsSync(join(app, 'dist/src/cli/main.js')), true);
    const cli = join(app, 'bin/ident-sync.js');
    const version = await runCli(['--version'], {}, { cli });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);

    const env = {
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_LONG_LIVED_TOKEN: 'compiled-build-token',
      STATE_DIR: tempDir(),
    };
    const fieldsBefore = emulator.fields.size;
    const created = await runCli(['fields', '--create', '--json'], env, { cli });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(emulator.fields.size - fieldsBefore, 26);
    const checked = await runCli(['fields', '--json'], env, { cli });
    assert.equal(checked.code, 0, checked.stderr);
  });
});
