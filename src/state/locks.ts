import { ActionableError } from '../errors.ts';
import { ProcessLock } from './process-lock.ts';

/**
 * Two locks in STATE_DIR. `owner`: held for its whole life by the daemon or a `sync` command, so a
 * second one is refused. `run`: held during any run that writes, so `ident-sync test` next to the
 * daemon waits for the daemon's run to end instead of racing it.
 */
export function takeOwnerLock(stateDir: string): ProcessLock {
  return ProcessLock.take(stateDir, 'owner', 'another ident-sync daemon or sync');
}

export async function takeRunLock(stateDir: string, waitMs = 120_000): Promise<ProcessLock> {
  const lock = await ProcessLock.waitFor(stateDir, 'run', waitMs);
  if (!lock) {
    throw new ActionableError(
      `a sync run in ${stateDir} did not end within ${Math.round(waitMs / 1000)} s; try again in a while`,
    );
  }
  return lock;
}

/** Holds the run lock while `work` runs. */
export async function withRunLock<T>(stateDir: string, work: () => Promise<T>, waitMs?: number): Promise<T> {
  const lock = await takeRunLock(stateDir, waitMs);
  try {
    return await work();
  } finally {
    lock.release();
  }
}
