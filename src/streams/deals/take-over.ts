import { LOST_STATUS_ID, WON_STATUS_ID } from '../../amocrm/types.ts';
import type { MappedDeal, ReceptionRow } from '../../mapping/deal-mapper.ts';

/** When a visit is planned: IDENT's wall clock, as the driver hands it over (as the run's clock). */
export interface VisitTime {
  start: Date | undefined;
  end: Date | undefined;
}

/** A reception that may take over an open lead of its contact, once the run has seen them all. */
export interface TakeOverCandidate {
  deal: MappedDeal;
  contactId: number;
  time: VisitTime;
}

const dateOf = (value: unknown): Date | undefined =>
  value instanceof Date && !Number.isNaN(value.getTime()) ? value : undefined;

/** The planned start and end of a reception row (sql/receptions.sql's PlanStart and PlanEnd). */
export function visitTimeOf(row: ReceptionRow): VisitTime {
  return { start: dateOf(row.PlanStart), end: dateOf(row.PlanEnd) };
}

/**
 * A manager's open lead (a call, a site form) is about the patient's next visit: only an upcoming
 * or current one takes it over — planned to end (or, without an end, to start) no earlier than
 * now, and placed in an open stage. A past or closed visit gets a deal of its own.
 */
export function mayTakeOver(candidate: Pick<TakeOverCandidate, 'deal' | 'time'>, now: Date): boolean {
  const stage = candidate.deal.placement.stage.id;
  if (stage === WON_STATUS_ID || stage === LOST_STATUS_ID) return false;
  const until = candidate.time.end ?? candidate.time.start;
  return until !== undefined && until.getTime() >= now.getTime();
}

/** The candidate nearest in time (the earliest planned start; ties by reception id). */
export function nearestFirst(candidates: readonly TakeOverCandidate[]): TakeOverCandidate[] {
  const startOf = (candidate: TakeOverCandidate) =>
    candidate.time.start?.getTime() ?? Number.MAX_SAFE_INTEGER;
  return [...candidates].sort(
    (a, b) =>
      startOf(a) - startOf(b) ||
      a.deal.receptionId.localeCompare(b.deal.receptionId, 'en', { numeric: true }),
  );
}
