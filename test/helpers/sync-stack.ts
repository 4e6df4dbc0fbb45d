import assert from 'node:assert/strict';
import type { AmoClient } from '../../src/amocrm/client.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import type { Logger } from '../../src/logging/logger.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { identFieldId, resolveFields, type ResolvedMap } from '../../src/mapping/catalogue.ts';
import { createMapper, type Mapper, toCreatePayload } from '../../src/mapping/mapper.ts';
import { StateStore } from '../../src/state/store.ts';
import { syncRunFor } from '../../src/streams/runner/context.ts';
import type { SyncOptions, SyncRequest, SyncResult } from '../../src/streams/contacts/run.ts';
import { mirrorRowOf } from '../../src/streams/contacts/mirror-refresh.ts';
import { drifted } from '../../src/streams/contacts/reconcile.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { longLivedClient, tempDir } from './amocrm.ts';
import { shippedMap } from './map.ts';
import type { MemorySource } from './memory-source.ts';
import { TestClock } from './test-clock.ts';

export const NOW = new Date('2026-11-22T09:00:00Z');

export interface SyncStack {
  client: AmoClient;
  resolved: ResolvedMap;
  mapper: Mapper;
  stateDir: string;
  store: StateStore;
  /** The engine's clock: `advance` it past a pending create's wait to let a run resend it. */
  clock: TestClock;
  run(request?: SyncRequest, options?: Partial<SyncOptions>, logger?: Logger): Promise<SyncResult>;
}

/** The real engine, map, client and state store against an emulator with the 26 fields created. */
export async function syncStack(
  emulator: AmoCrmEmulator,
  source: MemorySource,
  options: { stateDir?: string; client?: AmoClient; clock?: TestClock } = {},
): Promise<SyncStack> {
  const client = options.client ?? longLivedClient(emulator);
  const map = shippedMap();
  const fields = await createMissingFields(map, client.fields);
  const resolved = resolveFields(map, fields.catalogue);
  const mapper = createMapper(resolved, { timeZone: 'Europe/Moscow', now: () => NOW });
  const stateDir = options.stateDir ?? tempDir();
  const store = new StateStore(stateDir);
  const stack: SyncStack = {
    client,
    resolved,
    mapper,
    stateDir,
    store,
    clock: options.clock ?? new TestClock(),
    run(request = { kind: 'incremental' }, overrides = {}, logger = silentLogger()) {
      return syncRunFor(
        {
          source,
          mapper: stack.mapper,
          resolved,
          client,
          store,
          logger,
          timeZone: 'Europe/Moscow',
          clock: stack.clock,
        },
        { batchSize: 50, matchByPhone: true, overlapSeconds: 300, progressEveryMs: 60_000, ...overrides },
      ).run(request);
    },
  };
  return stack;
}

export interface Comparison {
  duplicates: number;
  missing: number;
  wrong: number;
  extra: number;
}

/**
 * amoCRM holds exactly the map of the source: no duplicate, none missing, none wrong, none extra;
 * and the client never sent what amoCRM refuses or punishes (negative dates, PHONE/EMAIL null, > 50 items).
 */
export async function assertConverged(
  emulator: AmoCrmEmulator,
  source: MemorySource,
  stack: Pick<SyncStack, 'resolved' | 'mapper'>,
): Promise<void> {
  assert.deepEqual(await compareWithSource(emulator, source, stack), {
    duplicates: 0,
    missing: 0,
    wrong: 0,
    extra: 0,
  });
  assert.deepEqual(emulator.breaches, [], 'the client sent what amoCRM refuses');
}

export async function compareWithSource(
  emulator: AmoCrmEmulator,
  source: MemorySource,
  stack: Pick<SyncStack, 'resolved' | 'mapper'>,
): Promise<Comparison> {
  const identField = identFieldId(stack.resolved);
  const byIdent = new Map<string, number[]>();
  for (const contact of emulator.contacts.values()) {
    const id = contact.custom_fields_values?.find((field) => field.field_id === identField)?.values[0]?.value;
    if (id === undefined) continue;
    byIdent.set(String(id), [...(byIdent.get(String(id)) ?? []), contact.id]);
  }
  const result: Comparison = { duplicates: 0, missing: 0, wrong: 0, extra: 0 };
  let checked = 0;
  for (const [patientId, row] of source.rows) {
    // Other trials' emulators share this event loop: never hold it for long.
    if (++checked % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    const ids = byIdent.get(patientId) ?? [];
    if (ids.length === 0) {
      result.missing += 1;
      continue;
    }
    if (ids.length > 1) result.duplicates += ids.length - 1;
    const outcome = stack.mapper(row);
    if (!outcome.ok) continue;
    const stored = emulator.contacts.get(ids[0]!)!;
    // The contact as the mirror would read it: names and fields equal, IDENT's phones and e-mails among its own.
    const theirs = mirrorRowOf(JSON.parse(JSON.stringify(stored)), {
      resolved: stack.resolved,
      timeZone: 'Europe/Moscow',
    });
    if (drifted(theirs, outcome.contact)) result.wrong += 1;
  }
  for (const patientId of byIdent.keys()) if (!source.rows.has(patientId)) result.extra += 1;
  return result;
}

export { toCreatePayload };
