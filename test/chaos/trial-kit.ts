/** What every chaos trial shares: its result, the pass rule, a prepared emulator, the comparison. */
import { createAmoClient } from '../../src/amocrm/client.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { resolveFieldList, resolveFields } from '../../src/mapping/catalogue.ts';
import { createDealMapper } from '../../src/mapping/deal-mapper.ts';
import { resolvePipelines } from '../../src/mapping/pipelines.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
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
  setup: { deals?: boolean } = {},
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
  if (setup.deals) {
    await createMissingFields(shippedDealMap(), client.leadFields, 'deal');
    await createMissingPipelines(shippedDealMap(), client.pipelines);
  }
  return { emulator, token };
}

/** A client of the checker's own, once the second the sync's requests may still fill is over. */
async function checkerClient(emulator: AmoCrmEmulator, token: string) {
  await sleep(1100);
  return createAmoClient(
    amoConfig(emulator, { longLivedToken: token }),
    tempDir(),
    silentLogger(),
    fastTuning(emulator),
  );
}

/**
 * amoCRM's deals against the receptions: one deal each (duplicates, missing), in the pipeline and
 * stage the deal map gives (wrong), and no deal of a reception IDENT does not have (extra).
 */
export async function compareDeals(
  emulator: AmoCrmEmulator,
  receptions: ReceptionSource,
  token: string,
): Promise<Comparison> {
  const client = await checkerClient(emulator, token);
  const map = shippedDealMap();
  const resolved = {
    map,
    fields: resolveFieldList(map.fields, await client.leadFields.list(), 'deal'),
    pipelines: resolvePipelines(map, await client.pipelines.list()),
  };
  const mapper = createDealMapper(resolved, { timeZone: 'Europe/Moscow', now: () => NOW });
  const fieldId = resolved.fields.find((field) => field.spec.key === 'reception_id')!.fieldId;
  const held = new Map<string, { count: number; pipelineId: number; statusId: number }>();
  for (const lead of emulator.deals.leads.values()) {
    const id = lead.custom_fields_values?.find((field) => field.field_id === fieldId)?.values[0]?.value;
    if (id === undefined) continue;
    const entry = held.get(String(id));
    if (entry) entry.count += 1;
    else held.set(String(id), { count: 1, pipelineId: lead.pipeline_id, statusId: lead.status_id });
  }
  const result: Comparison = { duplicates: 0, missing: 0, wrong: 0, extra: 0 };
  const seen = new Set<string>();
  for await (const row of receptions.window(new Date(0))) {
    const outcome = mapper(row);
    if (!outcome.ok) continue;
    seen.add(outcome.deal.receptionId);
    const entry = held.get(outcome.deal.receptionId);
    if (!entry) {
      result.missing += 1;
      continue;
    }
    result.duplicates += entry.count - 1;
    const { placement } = outcome.deal;
    if (entry.pipelineId !== placement.pipelineId || entry.statusId !== placement.stage.id) result.wrong += 1;
  }
  for (const id of held.keys()) if (!seen.has(id)) result.extra += 1;
  return result;
}

/** Two comparisons as one: what a trial of contacts and deals left wrong. */
export const sumOf = (a: Comparison, b: Comparison): Comparison => ({
  duplicates: a.duplicates + b.duplicates,
  missing: a.missing + b.missing,
  wrong: a.wrong + b.wrong,
  extra: a.extra + b.extra,
});

/** amoCRM's final state against the map of the source, read by a client of its own. */
export async function compare(
  emulator: AmoCrmEmulator,
  source: MemorySource,
  token: string,
): Promise<Comparison> {
  const client = await checkerClient(emulator, token);
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
