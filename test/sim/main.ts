import { parseArgs } from 'node:util';
import { replayCommand, runHistory, shrink, storyOf, type HistoryResult } from './history.ts';

/**
 * `npm run sim -- --seed S --histories N [--steps K] [--json]`: N random histories of a clinic,
 * its managers, amoCRM's faults, kills and clock steps, each checked when it quiesces. A line per
 * failing history (its seed, the step, the property broken, a command that replays it alone, shrunk
 * to the fewest events that still fail), and a JSON summary last.
 */
const usage = `usage: npm run sim -- [--seed S] [--histories N] [--steps K] [--sources 1|2|3] [--json]
       npm run sim -- --seed S --history H [--steps K] [--events i,j,…]   (replay one history)`;

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    histories: { type: 'string', default: '20' },
    history: { type: 'string' },
    steps: { type: 'string', default: '40' },
    sources: { type: 'string', default: '1' },
    events: { type: 'string' },
    rps: { type: 'string', default: '7' },
    shrink: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  allowPositionals: false,
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const int = (text: string | undefined, name: string, fallback?: number): number => {
  if (text === undefined && fallback !== undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`error: --${name} takes a whole number (got ${text}); ${usage}`);
    process.exit(2);
  }
  return value;
};
const seed = int(values.seed, 'seed', Math.floor(Math.random() * 2 ** 31));
const steps = int(values.steps, 'steps');
const rps = int(values.rps, 'rps');
const sources = int(values.sources, 'sources');
if (sources < 1 || sources > 3) {
  console.error(`error: --sources takes 1 (one clinic), 2 or 3 (a clinic chain); ${usage}`);
  process.exit(2);
}
const single = values.history === undefined ? undefined : int(values.history, 'history');
const only = values.events?.split(',').map((text) => int(text, 'events'));
const histories = single === undefined ? int(values.histories, 'histories') : 1;
let shrinkLeft = int(values.shrink, 'shrink');

const started = performance.now();
const failures: HistoryResult[] = [];
const totals = {
  seed,
  histories: 0,
  steps: 0,
  violations: 0,
  failingHistories: 0,
  duplicates: 0,
  missing: 0,
  wrong: 0,
  duplicateDeals: 0,
  missingDeals: 0,
  wrongStage: 0,
  maxRequestsPerSecond: 0,
  requests: 0,
  patients: 0,
  kills: 0,
  runs: 0,
  requestsPerPatient: 0,
  seconds: 0,
};

// A chain's own counts (--sources above 1), summed over the histories; one clinic prints none.
const chainTotals = { sources, people: 0, sharedPeople: 0, wrongPerson: 0, split: 0 };

for (let index = 0; index < histories; index += 1) {
  const history = single ?? index;
  const options = { seed, history, steps, rps, only, sources };
  let result = await runHistory(options);
  totals.histories += 1;
  totals.steps += result.kept.length;
  if (result.counts) {
    const c = result.counts;
    totals.duplicates += c.duplicates;
    totals.missing += c.missing;
    totals.wrong += c.wrong;
    totals.duplicateDeals += c.deals.duplicates;
    totals.missingDeals += c.deals.missing;
    totals.wrongStage += c.deals.wrongStage;
    totals.maxRequestsPerSecond = Math.max(totals.maxRequestsPerSecond, c.maxRequestsPerSecond);
    totals.requests += c.requests;
    totals.patients += c.patients;
    totals.kills += c.kills;
    totals.runs += c.runs;
    if (c.chain) {
      chainTotals.people += c.chain.people;
      chainTotals.sharedPeople += c.chain.sharedPeople;
      chainTotals.wrongPerson += c.chain.wrongPerson;
      chainTotals.split += c.chain.split;
    }
  }
  if (result.violations.length > 0) {
    totals.violations += result.violations.length;
    totals.failingHistories += 1;
    if (shrinkLeft > 0 && only === undefined) {
      shrinkLeft -= 1;
      result = await shrink(result, options);
    }
    failures.push(result);
    const first = result.violations[0]!;
    console.log(
      `FAIL seed ${seed} history ${history} step ${result.step}: ${first.property} (${first.detail.split('\n')[0]}); replay: ${replayCommand(result, steps, sources)}`,
    );
    if (values.verbose || single !== undefined) {
      for (const violation of result.violations) console.log(`  ${violation.property}: ${violation.detail}`);
      console.log(storyOf(result).join('\n'));
    }
  } else if (!values.json && (index + 1) % 50 === 0) {
    console.error(`… ${index + 1} histories, ${failures.length} failing`);
  }
}
totals.requestsPerPatient = totals.patients > 0 ? Number((totals.requests / totals.patients).toFixed(1)) : 0;
totals.seconds = Math.round((performance.now() - started) / 1000);
const summary = sources > 1 ? { ...totals, chain: chainTotals } : totals;
if (values.json) console.log(JSON.stringify(summary));
else console.log(JSON.stringify(summary, null, 2));
process.exit(failures.length > 0 ? 1 : 0);
