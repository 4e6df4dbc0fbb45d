import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AmoClient } from '../../src/amocrm/client.ts';
import { type Departure, NO_DEPARTURE, RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { DEFAULT_DEAL_MAPPING_FILE, DEFAULT_MAPPING_FILE } from '../../src/config/config.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import type { PatientSource } from '../../src/ident/patient-source.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { type ResolvedMap, resolveFieldList, resolveFields } from '../../src/mapping/catalogue.ts';
import { loadDealMapFile } from '../../src/mapping/deal-map.ts';
import {
  createDealMapper,
  type DealMapper,
  type ReceptionRow,
  type ResolvedDealMap,
} from '../../src/mapping/deal-mapper.ts';
import { loadMapFile } from '../../src/mapping/load-map.ts';
import { createMapper, type Mapper } from '../../src/mapping/mapper.ts';
import { resolvePipelines } from '../../src/mapping/pipelines.ts';
import type { StateStore } from '../../src/state/store.ts';
import { dealRunFor, syncRunFor } from '../../src/streams/runner/context.ts';
import type { DealSyncResult } from '../../src/streams/deals/run.ts';
import type { SyncResult } from '../../src/streams/contacts/run.ts';

export interface EmulatorProcess {
  url: string;
  token: string;
  stop(): void;
}

/** Shared by the bench and the soak: the emulator process, the unpaced limiter, the map, a run. */

/**
 * The emulator in a process of its own, so its memory and CPU are not counted as the sync's.
 * `unpaced` lifts its rate limit (profiling only).
 */
export async function startEmulatorProcess(options: { unpaced?: boolean } = {}): Promise<EmulatorProcess> {
  const token = 'bench-long-lived-token';
  // The compiled benchmark runs the compiled emulator, the sources run the sources.
  const main = fileURLToPath(new URL(`../../src/emulator/main${extname(import.meta.url)}`, import.meta.url));
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      // A port of the caller's choosing (a shared machine's range), else any free one.
      EMULATOR_PORT: process.env.BENCH_EMULATOR_PORT ?? '0',
      EMULATOR_HOST: '127.0.0.1',
      EMULATOR_LONG_LIVED_TOKEN: token,
      ...(options.unpaced ? { EMULATOR_RATE_LIMIT: String(1e9) } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', () => reject(new Error('the emulator did not start')));
  });
  return { url, token, stop: () => child.kill() };
}

/** A limiter that never waits (unpaced runs); it still reacts to 429 and 403 like the real one. */
export class UnpacedLimiter extends RateLimiter {
  override async acquire(): Promise<Departure> {
    if (this.blocked) throw this.blocked;
    return NO_DEPARTURE;
  }
}

/** The shipped map resolved against the server's fields, creating what is missing (as `fields --create`). */
export async function shippedMapOn(client: AmoClient): Promise<{ resolved: ResolvedMap; mapper: Mapper }> {
  const map = loadMapFile(DEFAULT_MAPPING_FILE);
  const resolved = resolveFields(map, (await createMissingFields(map, client.fields)).catalogue);
  return { resolved, mapper: createMapper(resolved, { timeZone: 'Europe/Moscow' }) };
}

export interface BenchParts {
  source: PatientSource;
  mapper: Mapper;
  resolved: ResolvedMap;
  client: AmoClient;
  store: StateStore;
}

/** One sync run through the real engine, without progress lines; anything but success throws. */
export async function benchRun(parts: BenchParts, kind: 'incremental' | 'deep'): Promise<SyncResult> {
  const result = await syncRunFor(
    { ...parts, logger: silentLogger(), timeZone: 'Europe/Moscow' },
    { batchSize: 50, matchByPhone: true, overlapSeconds: 300, progressEveryMs: 1e9 },
  ).run({ kind });
  if (result.outcome !== 'ok') throw result.error ?? new Error(`${kind} sync failed`);
  return result;
}

/** The shipped deal map resolved against the server, creating its fields and pipelines (as `fields --create --pipelines`). */
export async function shippedDealMapOn(
  client: AmoClient,
): Promise<{ resolved: ResolvedDealMap; mapper: DealMapper }> {
  const map = loadDealMapFile(DEFAULT_DEAL_MAPPING_FILE);
  const fields = await createMissingFields(map, client.leadFields, 'deal');
  await createMissingPipelines(map, client.pipelines);
  const resolved: ResolvedDealMap = {
    map,
    fields: resolveFieldList(map.fields, fields.catalogue, 'deal'),
    pipelines: resolvePipelines(map, await client.pipelines.list()),
  };
  return { resolved, mapper: createDealMapper(resolved, { timeZone: 'Europe/Moscow' }) };
}

/** One deal run through the real engine; anything but success throws. */
export async function benchDealRun(
  parts: BenchParts & {
    receptions: ReceptionSource;
    deals: { resolved: ResolvedDealMap; mapper: DealMapper };
  },
  kind: 'incremental' | 'deep',
  daysBack: number,
): Promise<DealSyncResult> {
  const result = await dealRunFor(
    {
      client: parts.client,
      deals: { source: parts.receptions, ...parts.deals },
      store: parts.store,
      logger: silentLogger(),
      timeZone: 'Europe/Moscow',
      now: () => parts.source.now(),
    },
    { batchSize: 50, overlapSeconds: 300, daysBack },
  ).run({ kind });
  if (result.outcome !== 'ok') throw result.error ?? new Error(`${kind} deal sync failed`);
  return result;
}

export interface DealCheck {
  deals: number;
  duplicateDeals: number;
  missingDeals: number;
  wrongStage: number;
}

/**
 * amoCRM's deals against the receptions: one deal each, in the pipeline and stage the map gives.
 * `index` yields "receptionId pipelineId statusId" for every deal carrying a reception id, in the
 * receptions' numeric order, as the receptions come: the two are walked side by side, so the check
 * holds one deal at a time whatever the clinic's size (the bench measures its own process's memory).
 */
export async function checkDeals(
  index: AsyncIterable<[string, number, number]>,
  receptions: AsyncIterable<ReceptionRow>,
  mapper: DealMapper,
  /** IDENT's clock: a no-show is judged on it, as the deal run judges it (not the host's). */
  identNow: Date,
): Promise<DealCheck> {
  const check: DealCheck = { deals: 0, duplicateDeals: 0, missingDeals: 0, wrongStage: 0 };
  const deals = index[Symbol.asyncIterator]();
  let next = await deals.next();
  const advance = async () => {
    check.deals += 1;
    next = await deals.next();
  };
  for await (const row of receptions) {
    const outcome = mapper(row, identNow);
    if (!outcome.ok) continue;
    const id = Number(outcome.deal.receptionId);
    // Deals of receptions outside the window (none in the bench) are passed over.
    while (!next.done && Number(next.value[0]) < id) await advance();
    if (next.done || Number(next.value[0]) !== id) {
      check.missingDeals += 1;
      continue;
    }
    const { placement } = outcome.deal;
    if (next.value[1] !== placement.pipelineId || next.value[2] !== placement.stage.id) check.wrongStage += 1;
    await advance();
    while (!next.done && Number(next.value[0]) === id) {
      check.duplicateDeals += 1;
      await advance();
    }
  }
  while (!next.done) await advance();
  return check;
}

/** The deal index from the emulator's admin page (one line per deal, by reception id), streamed. */
export async function* emulatorDealIndex(
  url: string,
  fieldId: number,
): AsyncGenerator<[string, number, number]> {
  const response = await fetch(`${url}/__emulator/deal-index?fieldId=${fieldId}`);
  const decoder = new TextDecoder();
  let rest = '';
  const parse = (line: string): [string, number, number] => {
    const [receptionId, pipelineId, statusId] = line.split(' ');
    return [receptionId!, Number(pipelineId), Number(statusId)];
  };
  for await (const chunk of response.body!) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) yield parse(line);
  }
  rest += decoder.decode();
  if (rest) yield parse(rest);
}

/**
 * The deal index read through the API (a real account): every deal, 250 a page, sorted by
 * reception id here (amoCRM lists by deal id), so this path holds the index in memory.
 */
export async function* apiDealIndex(
  client: AmoClient,
  fieldId: number,
): AsyncGenerator<[string, number, number]> {
  const index: [string, number, number][] = [];
  for await (const page of client.leads.pages({})) {
    for (const lead of page) {
      const value = lead.custom_fields_values?.find((field) => field.field_id === fieldId)?.values[0]?.value;
      if (value !== undefined) index.push([String(value), lead.pipeline_id, lead.status_id]);
    }
  }
  yield* index.sort((a, b) => Number(a[0]) - Number(b[0]));
}
