import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { emulatorSettings } from '../../src/emulator/settings.ts';

const EMULATOR = fileURLToPath(new URL('../../bin/emulator.js', import.meta.url));

const run = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [EMULATOR, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', ...env },
  });

describe('the emulator settings', () => {
  it('refuses every EMULATOR_* number that is not one, in one sentence naming it', () => {
    for (const [name, value, sentence] of [
      [
        'EMULATOR_RATE_LIMIT',
        'abc',
        'EMULATOR_RATE_LIMIT="abc": expected requests per second from 1 to 100000',
      ],
      ['EMULATOR_RATE_LIMIT', '0', 'EMULATOR_RATE_LIMIT="0": expected requests per second from 1 to 100000'],
      ['EMULATOR_LATENCY_MS', '-5', 'EMULATOR_LATENCY_MS="-5": expected milliseconds from 0 to 60000'],
      ['EMULATOR_LATENCY_MS', '1e3', 'EMULATOR_LATENCY_MS="1e3": expected milliseconds from 0 to 60000'],
      ['EMULATOR_PORT', '70000', 'EMULATOR_PORT="70000": expected a port number from 0 to 65535'],
      ['EMULATOR_SYSTEM_STAGES', 'German', 'EMULATOR_SYSTEM_STAGES="German": expected russian or english'],
    ])
      assert.deepEqual(emulatorSettings([], { [name!]: value }), { error: sentence }, `${name}=${value}`);
    assert.deepEqual(emulatorSettings([], { EMULATOR_RATE_LIMIT: '20', EMULATOR_LATENCY_MS: '5' }), {
      host: '127.0.0.1',
      port: 8090,
      latencyMs: 5,
      rateLimit: 20,
      systemStages: 'russian',
    });
  });

  it('takes --port N over EMULATOR_PORT, answers --help, and refuses any other argument', () => {
    assert.equal(
      (emulatorSettings(['--port', '41555'], { EMULATOR_PORT: '1' }) as { port: number }).port,
      41555,
    );
    assert.equal((emulatorSettings(['--port=0'], {}) as { port: number }).port, 0);
    assert.deepEqual(emulatorSettings(['--port', 'x'], {}), {
      error: '--port "x": expected a port number from 0 to 65535',
    });
    assert.deepEqual(emulatorSettings(['--port', '41555', '--help'], {}), { help: true });
    assert.deepEqual(emulatorSettings(['--verbose'], {}), {
      error:
        'unknown argument "--verbose": the emulator takes --port N and --help; its other settings are EMULATOR_* variables (--help lists them)',
    });
  });

  it('npm run emulator: a bad setting is one line and exit 1, --help lists the settings and starts nothing', () => {
    const bad = run([], { EMULATOR_RATE_LIMIT: 'abc', EMULATOR_PORT: '0' });
    assert.equal(bad.status, 1);
    assert.equal(
      bad.stderr,
      'error: EMULATOR_RATE_LIMIT="abc": expected requests per second from 1 to 100000\n',
    );
    const unknown = run(['--verbose'], { EMULATOR_PORT: '0' });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^error: unknown argument "--verbose": .*\n$/);
    const help = run(['--help', '--port', '0'], {});
    assert.equal(help.status, 0);
    for (const name of [
      'EMULATOR_PORT',
      'EMULATOR_RATE_LIMIT',
      'EMULATOR_LATENCY_MS',
      'EMULATOR_SYSTEM_STAGES',
    ])
      assert.match(help.stdout, new RegExp(name));
  });

  it('npm run emulator -- --port 0 listens on the port the argument names', async () => {
    const child = spawn(process.execPath, [EMULATOR, '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', EMULATOR_PORT: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.on('close', (code) => reject(new Error(`exited ${code}`)));
      });
      assert.doesNotMatch(base, /:1$/);
      assert.equal((await fetch(`${base}/__emulator/state`)).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
