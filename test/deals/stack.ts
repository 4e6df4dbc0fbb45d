import assert from 'node:assert/strict';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { resolveFieldList } from '../../src/mapping/catalogue.ts';
import type { DealMap } from '../../src/mapping/deal-map.ts';
import { createDealMapper, type ResolvedDealMap } from '../../src/mapping/deal-mapper.ts';
import { resolvePipelines } from '../../src/mapping/pipelines.ts';
import { dealRunFor } from '../../src/sync/context.ts';
import type { DealRequest, DealSyncOptions, DealSyncResult } from '../../src/sync/deals/run.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import type { MemorySource } from '../helpers/memory-source.ts';
import { NOW, type SyncStack, syncStack } from '../helpers/sync-stack.ts';

/** An emulator of its own (a free port on 127.0.0.1). */
export const attackEmulator = (options: Parameters<typeof startEmulator>[0] = {}) => startEmulator(options);

export interface AttackStack extends SyncStack {
  dealResolved: ResolvedDealMap;
  /** The engine's clock the deal mapper's no-show rule reads (the host's). */
  hostNow: Date;
  both(kind?: 'incremental' | 'deep', options?: Partial<DealSyncOptions>): Promise<DealSyncResult>;
  deals(request?: DealRequest, options?: Partial<DealSyncOptions>): Promise<DealSyncResult>;
}

/** As test/helpers/deal-stack.ts, but the mapper reads a host clock the test moves. */
export async function attackStack(
  emulator: AmoCrmEmulator,
  patients: MemorySource,
  receptions: ReceptionSource,
  options: { stateDir?: string; map?: DealMap; createPipelines?: boolean } = {},
): Promise<AttackStack> {
  const contacts = await syncStack(emulator, patients, options);
  const map = options.map ?? shippedDealMap();
  const fields = await createMissingFields(map, contacts.client.leadFields, 'deal');
  if (options.createPipelines !== false) await createMissingPipelines(map, contacts.client.pipelines);
  const dealResolved: ResolvedDealMap = {
    map,
    fields: resolveFieldList(map.fields, fields.catalogue, 'deal'),
    pipelines: resolvePipelines(map, await contacts.client.pipelines.list()),
  };
  const stack: AttackStack = {
    ...contacts,
    dealResolved,
    hostNow: NOW,
    deals(request = { kind: 'incremental' }, overrides = {}) {
      const mapper = createDealMapper(dealResolved, { timeZone: 'Europe/Moscow', now: () => stack.hostNow });
      return dealRunFor(
        {
          client: contacts.client,
          deals: { source: receptions, resolved: dealResolved, mapper },
          store: contacts.store,
          logger: silentLogger(),
          timeZone: 'Europe/Moscow',
          now: () => patients.now(),
          clock: contacts.clock,
          ensureContact: async (patientId) => {
            const result = await contacts.run({ kind: 'single', patientId });
            return result.outcome === 'ok' ? contacts.store.link(patientId)?.contactId : undefined;
          },
        },
        { batchSize: 50, overlapSeconds: 300, daysBack: 3650, ...overrides },
      ).run(request);
    },
    async both(kind = 'incremental', overrides = {}) {
      const result = await contacts.run({ kind });
      if (result.outcome !== 'ok') throw result.error ?? new Error('the contact run failed');
      return stack.deals({ kind }, overrides);
    },
  };
  return stack;
}

/** The one deal carrying this reception id. */
export function dealOf(
  emulator: AmoCrmEmulator,
  stack: { dealResolved: ResolvedDealMap },
  receptionId: number,
) {
  const fieldId = stack.dealResolved.fields.find((field) => field.spec.key === 'reception_id')!.fieldId;
  const found = [...emulator.deals.leads.values()].filter((lead) =>
    lead.custom_fields_values?.some(
      (field) => field.field_id === fieldId && String(field.values[0]?.value) === String(receptionId),
    ),
  );
  assert.equal(found.length, 1, `reception ${receptionId} has ${found.length} deals`);
  return found[0]!;
}

export const stageId = (
  stack: { dealResolved: ResolvedDealMap },
  name: string,
  role: 'primary' | 'repeat' = 'primary',
) => stack.dealResolved.pipelines[role].stages.find((candidate) => candidate.name === name)!.id;
