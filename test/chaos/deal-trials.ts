/**
 * Chaos trials of the deal sync (issue 14): kill -9 while deals are being created, and create
 * answers lost after amoCRM stored the deals. Each ends by comparing amoCRM's deals and contacts
 * with the source: one deal per reception, in its pipeline and stage, none extra.
 */
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { GeneratedReceptions } from '../../src/demo/receptions.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { amoConfig, fastTuning, tempDir } from '../helpers/amocrm.ts';
import { dealStack } from '../helpers/deal-stack.ts';
import { MemorySource, syntheticPatients as patients } from '../helpers/memory-source.ts';
import { runSyncChild, syncChildEnv } from '../helpers/sync-child-process.ts';
import {
  compare,
  compareDeals,
  completedOrKilled,
  emulatorVerdict,
  preparedEmulator,
  sleep,
  sumOf,
  type TrialResult,
} from './trial-kit.ts';

/** Receptions per patient in the deal trials: a patient's history and its next booking. */
const VISITS = 4;

/**
 * `kill -9` at a random moment of the deal phase of an initial sync in a real child process (the
 * contacts are in amoCRM by then), then restarts until it converges.
 */
export async function dealKillTrial(
  index: number,
  count: number,
  random: () => number,
): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(2000 + index, {}, { deals: true });
  try {
    const receptionCount = count * VISITS;
    const env = syncChildEnv(emulator, token, tempDir(), count, receptionCount);
    // The deal creates take about receptions / 300 seconds at the default pace.
    const killAfter = Math.round(100 + random() * Math.max(400, (receptionCount / 300) * 1000 * 0.9));
    let killAt: number | undefined;
    await sleep(1100);
    const first = await completedOrKilled(
      runSyncChild(env, {
        killWhen: () => {
          if (
            killAt === undefined &&
            emulator.requests.some((request) => request.path === '/api/v4/leads' && request.method === 'POST')
          )
            killAt = Date.now() + killAfter;
          return killAt !== undefined && Date.now() >= killAt;
        },
      }),
    );
    const landed = emulator.deals.leads.size;
    const receptions = new GeneratedReceptions(receptionCount, { count });
    let runs = 1;
    for (; runs < 4; runs++) {
      await sleep(1100);
      // The first restart comes at once; later ones after a pending create's wait, as a daemon's would.
      await completedOrKilled(
        runSyncChild({ ...env, CLOCK_ELAPSED_MS: String((runs - 1) * PAST_PENDING_WAIT_MS) }),
      );
      if ((await compareDeals(emulator, receptions, token)).missing === 0) break;
    }
    const comparison = sumOf(
      await compare(emulator, new MemorySource(patients(count)), token),
      await compareDeals(emulator, receptions, token),
    );
    return {
      trial: `deals: kill -9 #${index + 1}`,
      runs: runs + 1,
      detail: first.killed
        ? `killed ${killAfter} ms into the deal creates with ${landed}/${receptionCount} deals in amoCRM`
        : 'finished before the kill',
      ...emulatorVerdict(emulator),
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}

/** Deal create answers lost after amoCRM stored them (3 in 10), and a manager's lead to take over. */
export async function dealLostAnswerTrial(count: number, seed: number): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(seed, {}, { deals: true });
  try {
    const source = new MemorySource(patients(count));
    const receptions = new GeneratedReceptions(count * VISITS, { count }, { clock: source.clock });
    const client = createAmoClient(
      amoConfig(emulator, { longLivedToken: token }),
      tempDir(),
      silentLogger(),
      fastTuning(emulator),
    );
    const stack = await dealStack(emulator, source, receptions, { client });
    await stack.run();
    emulator.setFaults({ appliedServerErrorRate: 0.3 });
    let runs = 0;
    for (; runs < 5; runs++) {
      const result = await stack.deals();
      if (result.outcome === 'ok' && result.failed === 0 && stack.store.deals.pendingCount() === 0) break;
    }
    emulator.setFaults({});
    const comparison = await compareDeals(emulator, receptions, token);
    return {
      trial: 'deals: lost create answers',
      runs: runs + 1,
      detail: `${emulator.requests.filter((request) => request.path === '/api/v4/leads' && request.fault === 'applied 5xx').length} deal answers lost after the write`,
      ...emulatorVerdict(emulator),
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}
