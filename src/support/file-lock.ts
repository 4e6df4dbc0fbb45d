import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A short-lived lock between processes: held only around one operation (a token refresh), so a
 * lock left by a killed process is recognised by its age and taken over.
 */
export async function withFileLock<T>(
  path: string,
  action: () => Promise<T>,
  options: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  const waitMs = options.waitMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(path).mtimeMs > staleMs) rmSync(path, { force: true });
      } catch {
        // removed by its owner between our two calls: try again
      }
      if (Date.now() > deadline)
        throw new Error(`could not take the lock ${path} within ${waitMs} ms`, { cause: error });
      await sleep(50 + Math.random() * 50);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(path, { force: true });
  }
}
