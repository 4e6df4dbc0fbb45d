import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AmoClient } from '../../src/amocrm/client.ts';
import { RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { DEFAULT_MAPPING_FILE } from '../../src/config/config.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import type { PatientSource } from '../../src/ident/patient-source.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { type ResolvedMap, resolveFields } from '../../src/mapping/catalogue.ts';
import { loadMapFile } from '../../src/mapping/load-map.ts';
import { createMapper, type Mapper } from '../../src/mapping/mapper.ts';
import type { StateStore } from '../../src/state/store.ts';
import { syncRunFor } from '../../src/sync/context.ts';
import type { SyncResult } from '../../src/sync/run.ts';

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
      EMULATOR_PORT: '0',
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
  override async acquire(): Promise<void> {
    if (this.blocked) throw this.blocked;
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
