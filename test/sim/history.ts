import { installWallClock, SimClock } from './clock.ts';
import { describe, generateHistory, type SimEvent } from './events.ts';
import { historySeed, Random } from './random.ts';
import { type HistoryCounts, type Violation, World } from './world.ts';

export interface HistoryResult {
  seed: number;
  history: number;
  events: SimEvent[];
  /** Indices of the generated events that were played (all, unless a replay or a shrink kept fewer). */
  kept: number[];
  violations: Violation[];
  /** The step where the first violation showed (quiescence counts as the last step). */
  step: number;
  counts: HistoryCounts | undefined;
}

export interface HistoryOptions {
  seed: number;
  history: number;
  steps: number;
  rps: number;
  /** IDENT databases of a clinic chain (1: one clinic, as before chains). */
  sources?: number;
  /** Play only these indices of the generated events. */
  only?: readonly number[];
  /** A history written out instead of generated (the regressions of `npm test`). */
  script?: Script;
}

export interface Script {
  patients: number;
  filterIgnored: boolean;
  events: SimEvent[];
  /** SYNC_RECEPTIONS off until an `enableReceptions` event (or quiescence) turns it on. */
  receptionsLate?: boolean;
}

// 2026-11-20 07:00 UTC, a Friday morning before the 08:00 deep sync in Moscow.
const EPOCH = Date.UTC(2026, 10, 20, 7, 0);

/** Generates history `history` of `seed` and plays it against a fresh world; the properties decide. */
export async function runHistory(options: HistoryOptions): Promise<HistoryResult> {
  const seed = historySeed(options.seed, options.history);
  const random = new Random(seed);
  // One clinic in ten fills more than a page of amoCRM's lists (250): where paging bites.
  let initialPatients = random.chance(0.1) ? random.int(260, 320) : random.int(3, 25);
  let filterIgnored = random.chance(0.3);
  const sources = options.sources ?? 1;
  let events = generateHistory(random.int(0, 2 ** 31), options.steps, sources > 1);
  // One clinic in four turns the deals on after months of contacts (issue 19, item 5).
  let receptionsLate = random.chance(0.25);
  if (options.script)
    ({ patients: initialPatients, filterIgnored, events, receptionsLate = false } = options.script);
  const kept = options.only ? [...options.only] : events.map((_, index) => index);
  // The engine's jitter too comes from the history's seed: a replay takes the same path.
  const jitter = new Random(seed ^ 0x5bd1e995);
  Math.random = () => jitter.next();
  const clock = new SimClock(EPOCH);
  installWallClock(clock);
  const world = new World(clock, {
    rps: options.rps,
    patients: initialPatients,
    filterIgnored,
    receptionsLate,
    sources,
  });
  const result: HistoryResult = {
    seed: options.seed,
    history: options.history,
    events,
    kept,
    violations: world.violations,
    step: -1,
    counts: undefined,
  };
  try {
    await world.open(initialPatients);
    for (const index of kept) {
      await world.apply(events[index]!);
      if (world.violations.length > 0 && result.step < 0) result.step = index;
    }
    result.counts = await world.quiesce();
    if (world.violations.length > 0 && result.step < 0) result.step = events.length;
  } catch (error) {
    world.violations.push({ property: 'the history ran', detail: String((error as Error)?.stack ?? error) });
  } finally {
    await world.close().catch(() => undefined);
  }
  return result;
}

/**
 * The fewest events that still break the same property: drop halves, then quarters, … then single
 * events, keeping every cut after which the history still fails the same way (delta debugging).
 */
export async function shrink(
  failing: HistoryResult,
  options: HistoryOptions,
  budget = 200,
): Promise<HistoryResult> {
  const property = failing.violations[0]!.property;
  let best = failing;
  let kept = [...failing.kept];
  let chunk = Math.max(1, Math.floor(kept.length / 2));
  let tries = 0;
  while (chunk >= 1 && tries < budget) {
    let cut = false;
    for (let start = 0; start < kept.length && tries < budget;) {
      const candidate = [...kept.slice(0, start), ...kept.slice(start + chunk)];
      tries += 1;
      const replay = await runHistory({ ...options, only: candidate });
      if (replay.violations.some((violation) => violation.property === property)) {
        kept = candidate;
        best = replay;
        cut = true;
      } else start += chunk;
    }
    if (!cut) chunk = Math.floor(chunk / 2);
  }
  return best;
}

export function replayCommand(result: HistoryResult, steps: number, sources = 1): string {
  const only = result.kept.length === result.events.length ? '' : ` --events ${result.kept.join(',')}`;
  const chain = sources > 1 ? ` --sources ${sources}` : '';
  return `npm run sim -- --seed ${result.seed} --history ${result.history} --steps ${steps}${chain}${only}`;
}

export function storyOf(result: HistoryResult): string[] {
  return result.kept.map((index) => `  ${index}: ${describe(result.events[index]!)}`);
}
