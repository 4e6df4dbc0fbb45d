import { LOST_STATUS_ID, WON_STATUS_ID } from '../../amocrm/types.ts';
import type { Placement, ResolvedDealMap } from '../../mapping/deal-mapper.ts';
import type { DealLink } from '../../state/deals.ts';

/** Where a deal stands in amoCRM (the mirror), or where the sync last put it. */
export interface Position {
  pipelineId: number;
  statusId: number;
}

export interface StageDecision {
  /** The pipeline and stage to send, when the deal must move. */
  move: Position | undefined;
  /** Where the deal is once the write is done: recorded with the link. */
  after: Position;
  /** Why it stays where it is, when it does (for `test --reception-id`). */
  reason?: string;
}

/**
 * Where a deal goes, by the rules the clinic's managers can rely on:
 * - while the reception's state and pipeline in IDENT are what the sync last acted on, the deal
 *   stays wherever it is: a stage a manager chose since stands until IDENT changes again;
 * - when IDENT changed (or the sync has never placed this deal), it moves to the map's stage —
 *   but never back to an earlier stage of its pipeline, and a won or lost deal is never moved to
 *   another pipeline. Won and lost rank above every open stage and equal to each other;
 * - except that a stage the sync itself put the deal in, where it still stands — won, lost, or an
 *   open one such as a no-show's — is left when IDENT's state changes (the sync may undo what the
 *   sync did: a no-show booked again goes back to its booked stage; a manager's stage stays).
 * - a deal in a stage of the two pipelines that the sync does not know (an admin added it since the
 *   pipelines were read) stays: without its rank, "forward" cannot be told from "back".
 */
export function decideStage(
  wanted: Placement,
  link: Pick<DealLink, 'state' | 'role' | 'pipelineId' | 'statusId' | 'placed' | 'placedPrior'> | undefined,
  current: Position | undefined,
  resolved: ResolvedDealMap,
): StageDecision {
  const target: Position = { pipelineId: wanted.pipelineId, statusId: wanted.stage.id };
  const now = current ?? (link ? { pipelineId: link.pipelineId, statusId: link.statusId } : undefined);
  if (!now) return { move: target, after: target };
  if (link && link.state === wanted.state && link.role === wanted.role)
    return {
      move: undefined,
      after: now,
      reason:
        now.pipelineId === link.pipelineId && now.statusId === link.statusId
          ? 'already where the reception state puts it'
          : 'a manager moved it after the last write; it stays until the reception changes in IDENT',
    };
  if (now.pipelineId === target.pipelineId && now.statusId === target.statusId)
    return { move: undefined, after: now };
  if (placedBySync(now, link))
    // IDENT changed its mind (a cancellation or an end undone, a deleted visit restored, a no-show
    // booked again): the sync undoes its own placing. A manager's stage is never the sync's placing.
    return { move: target, after: target };
  const pipeline = resolved.pipelines.byId(now.pipelineId);
  const stage = pipeline?.stages.find((candidate) => candidate.id === now.statusId);
  if (pipeline && !stage)
    return {
      move: undefined,
      after: now,
      reason: 'it is in a stage the sync does not know (added after the pipelines were read); it stays there',
    };
  if (now.pipelineId === target.pipelineId) {
    if (stage && stage.rank > wanted.stage.rank)
      return {
        move: undefined,
        after: now,
        reason: `it is past "${wanted.stage.name}" already; deals never move back`,
      };
    return { move: target, after: target };
  }
  if (now.statusId === WON_STATUS_ID || now.statusId === LOST_STATUS_ID)
    return {
      move: undefined,
      after: now,
      reason: 'it is closed (won or lost) in another pipeline; closed deals stay',
    };
  return { move: target, after: target };
}

/**
 * The deal stands exactly where the sync's own last move put it: the move noted before its request
 * (amoCRM may have applied it before a crash), or, while amoCRM has not confirmed that one, the
 * placing before it (a kill may have kept the noted move from ever being sent).
 */
function placedBySync(now: Position, link: Pick<DealLink, 'placed' | 'placedPrior'> | undefined): boolean {
  const at = (position: Position | undefined) =>
    position !== undefined && position.pipelineId === now.pipelineId && position.statusId === now.statusId;
  return at(link?.placed) || at(link?.placedPrior);
}
