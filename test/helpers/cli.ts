import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tempDir } from './amocrm.ts';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/ident-sync.js', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `ident-sync` in a child process with only the given environment (no .env file). */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; onStdout?: (text: string) => void; cli?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.cli ?? CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ENV_FILE: '/nonexistent/.env', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The daemon's environment with an IDENT server that cannot be reached (127.0.0.1:1). */
export const unreachableDbEnv = (overrides: Record<string, string>) => ({
  PATH: process.env.PATH ?? '',
  ENV_FILE: '/nonexistent',
  LOG_FORMAT: 'json',
  DB_HOST: '127.0.0.1',
  DB_PORT: '1',
  DB_USER: 'reader',
  DB_PASSWORD: 'secret-password',
  STATE_DIR: tempDir(),
  ...overrides,
});

/** A long-running `ident-sync` command (the daemon, a sync) in a child process, killed after 30 s at the latest. */
export function spawnCli(args: readonly string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk));
  return {
    output: () => out,
    /** Resolves with the first match of `pattern` in stdout; rejects if the daemon ends first. */
    waitFor: (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setInterval(() => {
          const match = pattern.exec(out);
          if (match) {
            clearInterval(timer);
            resolve(match);
          }
        }, 50);
        child.on('close', () => reject(new Error(out)));
      }),
    /** Sends SIGTERM; resolves with the exit code and how long the daemon took to end. */
    async terminate(): Promise<{ code: number | null; ms: number }> {
      const started = Date.now();
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(watchdog);
      return { code, ms: Date.now() - started };
    },
  };
}
