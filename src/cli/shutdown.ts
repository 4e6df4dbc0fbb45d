import type { Logger } from '../logging/logger.ts';

/**
 * How long a stop may take: the batches in flight get this long to finish and commit. A request
 * stuck in amoCRM's retries past it is abandoned; a create it carried is pending in the state and
 * is looked up by the next run, so nothing is lost by leaving.
 */
export const SHUTDOWN_LIMIT_MS = 12_000;

/** After a stop signal: leave with `code` once SHUTDOWN_LIMIT_MS has passed, whatever is still waiting. */
export function leaveAfterGrace(
  logger: Logger,
  code: number,
  beforeExit: () => void = () => undefined,
): void {
  setTimeout(() => {
    logger.warn('stop took too long; exiting with the state as committed');
    beforeExit();
    process.exit(code);
  }, SHUTDOWN_LIMIT_MS).unref();
}
