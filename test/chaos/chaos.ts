/**
 * `npm run chaos -- [--kill-trials 20] [--patients 5000] [--fault-patients 1000] [--deal-kill-trials 3]
 *                   [--concurrency 2] [--seed 1] [--json]`
 *
 * kill -9 at random moments of initial syncs, emulator faults during syncs, the SQL source failing
 * mid-stream, and amoCRM as it really is (a lagging search, lost create answers, refused batches,
 * PATCHes of deleted contacts, contacts deleted, merged and edited between deep syncs), and the
 * deal sync killed or losing create answers (one deal per reception, in its stage). Prints one
 * row per trial (with --json: one JSON line per trial instead); exits 1 when any trial leaves a
 * duplicate, a missing, a wrong or an extra contact, or saw more than 7 requests in a second.
 */
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/table.ts';
import { passed, runChaos, type TrialResult } from './trials.ts';

const { values } = parseArgs({
  options: {
    'kill-trials': { type: 'string', default: '20' },
    patients: { type: 'string', default: '5000' },
    'fault-patients': { type: 'string', default: '1000' },
    'deal-kill-trials': { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});

const started = Date.now();
const results = await runChaos(
  {
    killTrials: Number(values['kill-trials']),
    killPatients: Number(values.patients),
    faultPatients: Number(values['fault-patients']),
    dealKillTrials: Number(values['deal-kill-trials']),
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
  },
  (result) => {
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({
          name: result.trial,
          passed: passed(result),
          duplicates: result.duplicates,
          missing: result.missing,
          wrong: result.wrong,
          extra: result.extra,
          maxRequestsPerSecond: result.peakPerSecond,
          runs: result.runs,
          detail: result.detail,
        })}\n`,
      );
      return;
    }
    process.stderr.write(
      `${passed(result) ? 'ok  ' : 'FAIL'} ${result.trial}: ${result.detail} (duplicates ${result.duplicates}, missing ${result.missing}, wrong ${result.wrong}, extra ${result.extra}, max ${result.peakPerSecond} req/s)\n`,
    );
  },
);
const failed = results.filter((result) => !passed(result)).length;
process.exitCode = failed > 0 ? 1 : 0;
const order = (result: TrialResult) =>
  result.trial.startsWith('kill')
    ? Number(result.trial.split('#')[1])
    : result.trial.startsWith('deals')
      ? 2000
      : 1000;
results.sort((a, b) => order(a) - order(b));
if (!values.json)
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
(values.json ? process.stderr : process.stdout).write(
  `\n${results.length - failed} passed, ${failed} failed (${Math.round((Date.now() - started) / 1000)} s)\n`,
);
