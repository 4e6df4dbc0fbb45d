/**
 * `npm run soak -- [--runs 1000] [--patients 2000] [--changed 0.01] [--deep-every 50] [--json]`
 *
 * The daemon's life in fast motion: many incremental runs (1 % of the patients changed before
 * each) with a deep sync every so often, in one process, against the emulator in a process of its
 * own with no rate limit. After every tenth of the runs it forces a garbage collection and prints
 * the live heap and the RSS: a daemon that keeps something per run would show it here long before
 * a clinic would.
 */
import { parseArgs } from 'node:util';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { formatTable } from '../../src/cli/table.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { longLivedConfig, tempDir } from '../helpers/amocrm.ts';
import { GeneratedSource } from '../../src/demo/clinic.ts';
import { benchRun, shippedMapOn, startEmulatorProcess, UnpacedLimiter } from './harness.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    patients: { type: 'string', default: '2000' },
    changed: { type: 'string', default: '0.01' },
    'deep-every': { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const deepEvery = Number(values['deep-every']);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run soak does)');

interface Sample {
  run: number;
  liveHeapMb: number;
  rssMb: number;
  runsSoFarOk: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main() {
  const emulator = await startEmulatorProcess({ unpaced: true });
  const stateDir = tempDir('ident-sync-soak-');
  try {
    const client = createAmoClient(
      longLivedConfig(emulator.url, emulator.token, { timeoutMs: 60_000, rateLimitRps: 7 }),
      stateDir,
      silentLogger(),
      { limiter: new UnpacedLimiter(7) },
    );
    const { resolved, mapper } = await shippedMapOn(client);
    const parts = {
      source: new GeneratedSource(Number(values.patients)),
      mapper,
      resolved,
      client,
      store: new StateStore(stateDir),
    };
    await benchRun(parts, 'incremental');
    const samples: Sample[] = [];
    let ok = 0;
    const started = performance.now();
    for (let run = 1; run <= runs; run++) {
      parts.source.change(Number(values.changed));
      await benchRun(parts, run % deepEvery === 0 ? 'deep' : 'incremental');
      ok += 1;
      if (run % Math.max(1, Math.round(runs / 10)) === 0) {
        gc!();
        const memory = process.memoryUsage();
        samples.push({ run, liveHeapMb: mb(memory.heapUsed), rssMb: mb(memory.rss), runsSoFarOk: ok });
        process.stderr.write(`run ${run}/${runs}\n`);
      }
    }
    parts.store.close();
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const perThousand =
      Math.round(((last.liveHeapMb - first.liveHeapMb) / (last.run - first.run)) * 1000 * 100) / 100;
    process.stdout.write(
      `ident-sync soak — ${runs} runs (a deep sync every ${deepEvery}) over ${values.patients} patients, ${values.changed} changed before each; ${seconds} s\n\n`,
    );
    process.stdout.write(
      `${formatTable(
        ['after run', 'live heap MB', 'RSS MB'],
        samples.map((sample) => [String(sample.run), String(sample.liveHeapMb), String(sample.rssMb)]),
      )}\n\nlive heap from run ${first.run} to run ${last.run}: ${perThousand >= 0 ? '+' : ''}${perThousand} MB per 1 000 runs\n`,
    );
    if (values.json)
      process.stdout.write(`${JSON.stringify({ runs, seconds, samples, heapMbPer1000Runs: perThousand })}\n`);
  } finally {
    emulator.stop();
  }
}

await main();
