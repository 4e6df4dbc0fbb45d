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
  /**
   * The fewest refused values standing over the last 24 hours (as Prometheus' min_over_time 1d):
   * growth counts from here, and a recovery is a return to it.
   */
  refusedFloor: number;
  /** How long the refused values have been back at that floor (0 while above it). */
  refusedBackMs: number;
  /** How long something has lasted, robust to wall clock steps (see Durations). */
  elapsed(key: string, of: string, since: Date): number;
}

const RUNS_READ = 500;
const WATCHING_SINCE = 'alerts_watching_since';
/** Per hour of wall time (hours since 1970), the fewest refused values seen in it: the last 24. */
const REFUSED_HOURS = 'alerts_refused_hourly_min';
const HOUR_MS = 3_600_000;
const DAY_HOURS = 24;
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
  const refusedFloor = fewestOfTheDay(store, refused, now);
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

/** The fewest refused values of the last 24 hours, `refused` now included. */
function fewestOfTheDay(store: StateStore, refused: number, now: Date): number {
  const hour = Math.floor(now.getTime() / HOUR_MS);
  let seen: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(store.getMeta(REFUSED_HOURS) ?? '{}') as unknown;
    if (parsed && typeof parsed === 'object') seen = parsed as Record<string, unknown>;
  } catch {
    // A damaged entry: the day starts again from now.
  }
  const kept: Record<string, number> = {};
  for (const [key, value] of Object.entries(seen)) {
    const at = Number(key);
    // Hours ahead of now (a clock stepped back) are dropped as well as those older than a day.
    if (at > hour - DAY_HOURS && at <= hour && typeof value === 'number') kept[key] = value;
  }
  kept[hour] = Math.min(kept[hour] ?? refused, refused);
  const text = JSON.stringify(kept);
  if (text !== store.getMeta(REFUSED_HOURS)) store.setMeta(REFUSED_HOURS, text);
  return Math.min(...Object.values(kept));
}
