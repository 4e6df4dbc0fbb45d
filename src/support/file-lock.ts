import { closeSync, openSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A short-lived lock between processes, held around one operation (a token refresh). The holder
 * touches the file every `staleMs / 4` while it works, so a refresh that takes long (amoCRM
 * retried, slow to answer) is never taken for abandoned; a lock left by a killed process stops
 * being touched and is taken over after `staleMs`.
 */
export async function withFileLock<T>(
  path: string,
  action: () => Promise<T>,
  options: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  const waitMs = options.waitMs ?? 600_000;
  const staleMs = options.staleMs ?? 30_000;
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
  const heartbeat = setInterval(
    () => {
      try {
        const now = new Date();
        utimesSync(path, now, now);
      } catch {
        // The file is gone (taken over after all): the action's own result still stands.
      }
    },
    Math.max(10, Math.floor(staleMs / 4)),
  );
  heartbeat.unref();
  try {
    return await action();
  } finally {
    clearInterval(heartbeat);
    rmSync(path, { force: true });
  }
}
