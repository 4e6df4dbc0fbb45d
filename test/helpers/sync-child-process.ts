import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';

const CHILD = fileURLToPath(new URL('./sync-child.ts', import.meta.url));

export interface SyncChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The child ended by the signal this helper sent. */
  killed: boolean;
  result?: {
    outcome: string;
    created: number;
    linked: number;
    failed: number;
    pending: number;
    dealsCreated?: number;
    dealsPending?: number;
  };
  stderr: string;
}

/** The environment of `sync-child.ts`: an initial or incremental sync of synthetic patients 1…N. */
export const syncChildEnv = (
  emulator: AmoCrmEmulator,
  token: string,
  stateDir: string,
  patients: number,
  receptions = 0,
) => ({
  EMULATOR_URL: emulator.baseUrl,
  TOKEN: token,
  STATE_DIR: stateDir,
  PATIENTS: String(patients),
  RECEPTIONS: String(receptions),
});

/**
 * Runs the sync in a real child process; `killWhen` is polled every 5 ms and, once true, the child
 * gets `signal` (SIGKILL by default). Rejects only when the child failed without a word.
 */
export function runSyncChild(
  env: Record<string, string>,
  options: { killWhen?: () => boolean; signal?: NodeJS.Signals } = {},
): Promise<SyncChildRun> {
  const signal = options.signal ?? 'SIGKILL';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    const poll = options.killWhen
      ? setInterval(() => {
          if (options.killWhen!()) {
            clearInterval(poll);
            sent = child.kill(signal);
          }
        }, 5)
      : undefined;
    child.on('error', reject);
    child.on('close', (code, endedBy) => {
      if (poll) clearInterval(poll);
      const line = out.trim().split('\n').at(-1);
      const killed = sent && endedBy === signal;
      if (!killed && code !== null && code !== 0 && !line) {
        reject(new Error(`sync child failed (${code}): ${err.slice(-500)}`));
        return;
      }
      resolve({ code, signal: endedBy, killed, result: line ? JSON.parse(line) : undefined, stderr: err });
    });
  });
}
