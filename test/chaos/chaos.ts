/**
 * `npm run chaos -- [--kill-trials 20] [--patients 5000] [--fault-patients 1000] [--concurrency 4] [--seed 1]`
 *
 * kill -9 at random moments of initial syncs, emulator faults during syncs, and the SQL source
 * failing mid-stream. Prints one row per trial; exits 1 when any trial leaves a duplicate, a
 * missing or a wrong contact.
 */
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/table.ts';
import { passed, runChaos, type TrialResult } from './trials.ts';

const { values } = parseArgs({
  options: {
    'kill-trials': { type: 'string', default: '20' },
    patients: { type: 'string', default: '5000' },
    'fault-patients': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
  },
});

const started = Date.now();
const results = await runChaos(
  {
    killTrials: Number(values['kill-trials']),
    killPatients: Number(values.patients),
    faultPatients: Number(values['fault-patients']),
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
  },
  (result) =>
    process.stderr.write(
      `${passed(result) ? 'ok  ' : 'FAIL'} ${result.trial}: ${result.detail} (duplicates ${result.duplicates}, missing ${result.missing}, wrong ${result.wrong}, extra ${result.extra}, max ${result.peakPerSecond} req/s)\n`,
    ),
);
const order = (result: TrialResult) =>
  result.trial.startsWith('kill') ? Number(result.trial.split('#')[1]) : 1000;
results.sort((a, b) => order(a) - order(b));
process.stdout.write(
  `${formatTable(
    ['trial', 'runs', 'duplicates', 'missing', 'wrong', 'extra', 'max req/s', 'result', 'what happened'],
    results.map((r) => [
      r.trial,
      String(r.runs),
      String(r.duplicates),
      String(r.missing),
      String(r.wrong),
      String(r.extra),
      String(r.peakPerSecond),
      passed(r) ? 'ok' : 'FAIL',
      r.detail,
    ]),
  )}\n`,
);
const failed = results.filter((result) => !passed(result)).length;
process.stdout.write(
  `\n${results.length - failed} passed, ${failed} failed (${Math.round((Date.now() - started) / 1000)} s)\n`,
);
process.exitCode = failed > 0 ? 1 : 0;
