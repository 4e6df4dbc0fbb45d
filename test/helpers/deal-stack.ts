import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import { type Logger, silentLogger } from '../../src/logging/logger.ts';
import { resolveFieldList } from '../../src/mapping/catalogue.ts';
import type { DealMap } from '../../src/mapping/deal-map.ts';
import { createDealMapper, type ResolvedDealMap } from '../../src/mapping/deal-mapper.ts';
import { resolvePipelines } from '../../src/mapping/pipelines.ts';
import { dealRunFor } from '../../src/streams/runner/context.ts';
import type { DealRequest, DealSyncOptions, DealSyncResult } from '../../src/streams/deals/run.ts';
import { shippedDealMap } from './deal-map.ts';
import type { AmoClient } from '../../src/amocrm/client.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import type { MemorySource } from './memory-source.ts';
import { NOW, type SyncStack, syncStack } from './sync-stack.ts';
import type { TestClock } from './test-clock.ts';

export interface DealStack extends SyncStack {
  dealResolved: ResolvedDealMap;
  /** The engine's clock the deal mapper's no-show rule reads (the host's); a test may move it. */
  hostNow: Date;
  /** The contacts, then the deals, as `sync` runs them. */
  both(kind?: 'incremental' | 'deep', options?: Partial<DealSyncOptions>): Promise<DealSyncResult>;
  deals(request?: DealRequest, options?: Partial<DealSyncOptions>, logger?: Logger): Promise<DealSyncResult>;
}

/** The contact stack plus the deal fields and the two pipelines created (as `fields --create --pipelines`). */
export async function dealStack(
  emulator: AmoCrmEmulator,
  patients: MemorySource,
  receptions: ReceptionSource,
  options: {
    stateDir?: string;
    client?: AmoClient;
    clock?: TestClock;
    map?: DealMap;
    /** false: the account's pipelines are left as they are (an upgrade, an admin's own set-up). */
    createPipelines?: boolean;
  } = {},
): Promise<DealStack> {
  const contacts = await syncStack(emulator, patients, options);
  const map = options.map ?? shippedDealMap();
  const fields = await createMissingFields(map, contacts.client.leadFields, 'deal');
  if (options.createPipelines !== false) await createMissingPipelines(map, contacts.client.pipelines);
  const dealResolved: ResolvedDealMap = {
    map,
    fields: resolveFieldList(map.fields, fields.catalogue, 'deal'),
    pipelines: resolvePipelines(map, await contacts.client.pipelines.list()),
  };
  const mapper = createDealMapper(dealResolved, { timeZone: 'Europe/Moscow', now: () => stack.hostNow });
  const stack: DealStack = {
    ...contacts,
    dealResolved,
    hostNow: NOW,
    deals(request = { kind: 'incremental' }, overrides = {}, logger = silentLogger()) {
      return dealRunFor(
        {
          client: contacts.client,
          deals: { source: receptions, resolved: dealResolved, mapper },
          store: contacts.store,
          logger,
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
