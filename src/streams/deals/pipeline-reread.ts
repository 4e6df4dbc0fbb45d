import type { Pipeline } from '../../amocrm/types.ts';
import type { Logger } from '../../logging/logger.ts';
import { PipelinesNotReadyError, type ResolvedPipelines } from '../../mapping/pipelines.ts';
import { DealSetupError } from './setup-error.ts';

/**
 * The pipelines read again at the start of every deal run (one request): a stage an admin added or
 * re-ordered since the last read has its id and rank before any deal is placed, so a deal a
 * manager moved there is seen as past the map's stages, not as nowhere. A pipeline or stage the map
 * needs that is gone stops the run with the sentence naming `fields --create --pipelines`.
 */
export async function rereadPipelines(
  pipelines: ResolvedPipelines,
  read: (() => Promise<readonly Pipeline[]>) | undefined,
  logger: Logger,
): Promise<void> {
  if (!read) return;
  const fresh = await read();
  let changed: boolean;
  try {
    changed = pipelines.refresh(fresh);
  } catch (error) {
    if (error instanceof PipelinesNotReadyError) throw new DealSetupError(error);
    throw error;
  }
  if (changed)
    logger.info(
      'the deal pipelines changed since they were last read; the run uses their stages as they are now',
    );
}
