import type { RunRecord, StateStore } from '../state/store.ts';
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
  /** The fewest refused values seen since the growth rule last cleared. */
  refusedFloor: number;
}

const RUNS_READ = 500;
const WATCHING_SINCE = 'alerts_watching_since';
const REFUSED_FLOOR = 'alerts_refused_floor';

export function gatherFacts(
  store: StateStore,
  options: { stateDir: string; longLivedToken: string | undefined },
  now: Date,
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
  const success = runs.find((run) => run.outcome === 'ok');
  return {
    now,
    runs,
    lastSuccess: success ? new Date(success.endedAt ?? success.startedAt) : undefined,
    watchingSince: new Date(watching),
    token: tokenExpiry(options.stateDir, options.longLivedToken),
    refused,
    refusedFloor,
  };
}

/** The growth rule cleared: growth counts from the refused values standing now. */
export function resetRefusedFloor(store: StateStore, refused: number): void {
  store.setMeta(REFUSED_FLOOR, String(refused));
}
