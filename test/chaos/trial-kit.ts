/** What every chaos trial shares: its result, the pass rule, a prepared emulator, the comparison. */
import { createAmoClient } from '../../src/amocrm/client.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { resolveFields } from '../../src/mapping/catalogue.ts';
import { createMapper } from '../../src/mapping/mapper.ts';
import type { AmoCrmEmulator, EmulatorOptions } from '../../src/emulator/server.ts';
import { amoConfig, fastTuning, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import type { MemorySource } from '../helpers/memory-source.ts';
import type { SyncChildRun } from '../helpers/sync-child-process.ts';
import { type Comparison, compareWithSource, NOW } from '../helpers/sync-stack.ts';

export interface TrialResult extends Comparison {
  trial: string;
  runs: number;
  detail: string;
  /** Requests that arrived in the busiest one-second window at the emulator. */
  peakPerSecond: number;
  blocked: boolean;
}

export const passed = (result: TrialResult) =>
  result.duplicates === 0 &&
  result.missing === 0 &&
  result.wrong === 0 &&
  result.extra === 0 &&
  !result.blocked &&
  result.peakPerSecond <= 7;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An emulator with the map's fields and a long-lived token for a child process. */
export async function preparedEmulator(
  seed: number,
  options: EmulatorOptions = {},
): Promise<{ emulator: AmoCrmEmulator; token: string }> {
  const emulator = await startEmulator({ seed, ...options });
  const token = `chaos-token-${seed}-0123456789`;
  emulator.addLongLivedToken(token);
  const client = createAmoClient(
    amoConfig(emulator, { longLivedToken: token }),
    tempDir(),
    silentLogger(),
    fastTuning(emulator),
  );
  await createMissingFields(shippedMap(), client.fields);
  return { emulator, token };
}

/** amoCRM's final state against the map of the source, read by a client of its own. */
export async function compare(
  emulator: AmoCrmEmulator,
  source: MemorySource,
  token: string,
): Promise<Comparison> {
  // It waits out the second the sync's requests may still fill.
  await sleep(1100);
  const client = createAmoClient(
    amoConfig(emulator, { longLivedToken: token }),
    tempDir(),
    silentLogger(),
    fastTuning(emulator),
  );
  const resolved = resolveFields(shippedMap(), await client.fields.list());
  return await compareWithSource(emulator, source, {
    resolved,
    mapper: createMapper(resolved, { timeZone: 'Europe/Moscow', now: () => NOW }),
  });
}

/** A run that was neither killed nor successful stops the trial with the child's last words. */
export async function completedOrKilled(running: Promise<SyncChildRun>): Promise<SyncChildRun> {
  const run = await running;
  if (!run.killed && run.code !== 0)
    throw new Error(`sync child failed (${run.code}): ${run.stderr.slice(-500)}`);
  return run;
}

/** What the emulator saw, for a trial's result: the busiest second, a block, and client breaches as wrong. */
export function emulatorVerdict(emulator: AmoCrmEmulator): Pick<TrialResult, 'peakPerSecond' | 'blocked'> {
  return { peakPerSecond: emulator.maxRequestsInAnySecond, blocked: emulator.blocked };
}
