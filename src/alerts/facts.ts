import type { RunRecord, StateStore } from '../state/store.ts';
import type { Durations } from './durations.ts';
import { type TokenExpiry, tokenExpiry } from './token-expiry.ts';

/** What the rules weigh, read from the state (and the token file) at one moment. */
export interface AlertFacts {
  now: Date;
  /** Finished runs that say something (not dry, not of one patient, not stopped), newest first. */
  runs: RunRecord[];
  lastSuccess: Date | undefined;
  /** Since when the alerts watch this state: "no success" counts from here when none ever was. */
  watchingSince: Date;
  token: TokenExpiry | undefined;
  /** Values amoCRM refused, contacts' and deals', now standing. */
  refused: number;
  /** The fewest refused values ever seen: growth counts from here, and a recovery is a return to it. */
  refusedFloor: number;
  /** How long the refused values have been back at the floor (0 while above it). */
  refusedBackMs: number;
  /** How long something has lasted, robust to wall clock steps (see Durations). */
  elapsed(key: string, of: string, since: Date): number;
}

const RUNS_READ = 500;
const WATCHING_SINCE = 'alerts_watching_since';
const REFUSED_FLOOR = 'alerts_refused_floor';
const REFUSED_BACK = 'refused-back';

export function gatherFacts(
  store: StateStore,
  options: { stateDir: string; longLivedToken: string | undefined },
  now: Date,
  durations: Durations,
): AlertFacts {
  const runs = store
    .lastRuns(RUNS_READ)
    .filter(
      (run) => !run.dryRun && run.kind !== 'single' && (run.outcome === 'ok' || run.outcome === 'failed'),
    );
  let watching = store.getMeta(WATCHING_SINCE);
  if (watching === undefined) {
    watching = now.toISOString();
    store.setMeta(WATCHING_SINCE, watching);
  }
  const refused = store.fieldRefusalCount() + store.deals.refusalCount();
  const floorText = store.getMeta(REFUSED_FLOOR);
  let refusedFloor = floorText === undefined ? refused : Number(floorText);
  if (refused < refusedFloor || floorText === undefined) {
    refusedFloor = refused;
    store.setMeta(REFUSED_FLOOR, String(refused));
  }
  let refusedBackMs = 0;
  if (refused <= refusedFloor) refusedBackMs = durations.since(REFUSED_BACK, 'floor', now);
  else durations.forget(REFUSED_BACK);
  const success = runs.find((run) => run.outcome === 'ok');
  return {
    now,
    runs,
    lastSuccess: success ? new Date(success.endedAt ?? success.startedAt) : undefined,
    watchingSince: new Date(watching),
    token: tokenExpiry(options.stateDir, options.longLivedToken),
    refused,
    refusedFloor,
    refusedBackMs,
    elapsed: (key, of, since) => durations.since(key, of, since),
  };
}
