import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RateLimiter } from '../../src/amocrm/rate-limiter.ts';

export interface EmulatorProcess {
  url: string;
  token: string;
  stop(): void;
}

/**
 * The emulator in a process of its own, so its memory and CPU are not counted as the sync's.
 * `unpaced` lifts its rate limit (profiling only).
 */
export async function startEmulatorProcess(options: { unpaced?: boolean } = {}): Promise<EmulatorProcess> {
  const token = 'bench-long-lived-token';
  // The compiled benchmark runs the compiled emulator, the sources run the sources.
  const main = fileURLToPath(new URL(`../emulator/main${extname(import.meta.url)}`, import.meta.url));
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      EMULATOR_PORT: '0',
      EMULATOR_LONG_LIVED_TOKEN: token,
      ...(options.unpaced ? { EMULATOR_RATE_LIMIT: String(1e9) } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', () => reject(new Error('the emulator did not start')));
  });
  return { url, token, stop: () => child.kill() };
}

/** A limiter that never waits (unpaced runs); it still reacts to 429 and 403 like the real one. */
export class UnpacedLimiter extends RateLimiter {
  override async acquire(): Promise<void> {
    if (this.blocked) throw this.blocked;
  }
}
