/**
 * A sync in a process of its own, for tests that kill it: `node test/helpers/sync-child.ts`.
 * EMULATOR_URL, TOKEN, STATE_DIR, PATIENTS (synthetic patients 1…N), KIND (incremental|deep),
 * RECEPTIONS (synthetic receptions of those patients, made deals after the contacts; 0: none),
 * TIMEOUT_MS (the client's request timeout), CLOCK_ELAPSED_MS (the engine's wall and monotonic
 * clocks run this far ahead: a run that comes later) and WALL_STEP_MS (the wall clock alone is
 * stepped by this much). Prints one JSON line with the result.
 */
import { createAmoClient } from '../../src/amocrm/client.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { GeneratedReceptions } from '../../src/demo/receptions.ts';
import { resolveFieldList, resolveFields } from '../../src/mapping/catalogue.ts';
import { createDealMapper } from '../../src/mapping/deal-mapper.ts';
import { resolvePipelines } from '../../src/mapping/pipelines.ts';
import { createMapper } from '../../src/mapping/mapper.ts';
import { takeOwnerLock } from '../../src/state/locks.ts';
import { StateStore } from '../../src/state/store.ts';
import { dealRunFor, syncRunFor } from '../../src/streams/runner/context.ts';
import { shippedDealMap } from './deal-map.ts';
import { longLivedConfig } from './amocrm.ts';
import { NOW } from './sync-stack.ts';
import { shippedMap } from './map.ts';
import { MemorySource, syntheticPatients } from './memory-source.ts';
import { TestClock } from './test-clock.ts';

const env = process.env;
const stateDir = env.STATE_DIR!;
const patients = Number(env.PATIENTS ?? 1000);
const owner = takeOwnerLock(stateDir);
const timeoutMs = Number(env.TIMEOUT_MS ?? 2000);
const clock = new TestClock({
  elapsedMs: Number(env.CLOCK_ELAPSED_MS ?? 0),
  wallStepMs: Number(env.WALL_STEP_MS ?? 0),
});
const client = createAmoClient(
  longLivedConfig(env.EMULATOR_URL!, env.TOKEN!, { timeoutMs }),
  stateDir,
  silentLogger(),
  { retryBaseMs: 50, rateLimitBaseMs: 200 },
);
const resolved = resolveFields(shippedMap(), await client.fields.list());
const source = new MemorySource(syntheticPatients(patients));
const store = new StateStore(stateDir);
let stop = false;
process.on('SIGTERM', () => {
  stop = true;
});
const mapper = createMapper(resolved, { timeZone: 'Europe/Moscow', now: () => NOW });
const kind = env.KIND === 'deep' ? 'deep' : 'incremental';
const result = await syncRunFor(
  { source, mapper, resolved, client, store, logger: silentLogger(), timeZone: 'Europe/Moscow', clock },
  {
    batchSize: 50,
    matchByPhone: true,
    overlapSeconds: 300,
    shouldStop: () => stop,
    requestTimeoutMs: timeoutMs,
  },
).run({ kind });
const receptions = Number(env.RECEPTIONS ?? 0);
const deals =
  receptions > 0 && result.outcome === 'ok'
    ? await dealRunFor(
        {
          client,
          deals: {
            source: new GeneratedReceptions(receptions, { count: patients }),
            ...(await dealMapOn(client)),
          },
          store,
          logger: silentLogger(),
          timeZone: 'Europe/Moscow',
          now: () => source.now(),
          clock,
        },
        {
          batchSize: 50,
          overlapSeconds: 300,
          daysBack: 3650,
          shouldStop: () => stop,
          requestTimeoutMs: timeoutMs,
        },
      ).run({ kind })
    : undefined;
store.close();
owner.release();
process.stdout.write(
  `${JSON.stringify({ outcome: deals?.outcome === 'failed' ? 'failed' : result.outcome, created: result.created, linked: result.linked, updated: result.updated, failed: result.failed + (deals?.failed ?? 0), unchanged: result.unchanged, pending: result.pending, dealsCreated: deals?.created, dealsPending: deals?.pending, error: result.error?.message ?? deals?.error?.message })}\n`,
);
process.exitCode =
  (result.outcome === 'ok' || result.outcome === 'stopped') && deals?.outcome !== 'failed' ? 0 : 1;

/** The shipped deal map against the account's deal fields and pipelines (made by the trial beforehand). */
async function dealMapOn(amo: typeof client) {
  const map = shippedDealMap();
  const dealResolved = {
    map,
    fields: resolveFieldList(map.fields, await amo.leadFields.list(), 'deal'),
    pipelines: resolvePipelines(map, await amo.pipelines.list()),
  };
  return {
    resolved: dealResolved,
    mapper: createDealMapper(dealResolved, { timeZone: 'Europe/Moscow', now: () => NOW }),
  };
}
