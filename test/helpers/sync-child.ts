/**
 * A sync in a process of its own, for tests that kill it: `node test/helpers/sync-child.ts`.
 * EMULATOR_URL, TOKEN, STATE_DIR, PATIENTS (synthetic patients 1…N), KIND (incremental|deep).
 * Prints one JSON line with the result.
 */
import { createAmoClient } from '../../src/amocrm/client.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { resolveFields } from '../../src/mapping/catalogue.ts';
import { createMapper } from '../../src/mapping/mapper.ts';
import { takeOwnerLock } from '../../src/state/locks.ts';
import { StateStore } from '../../src/state/store.ts';
import { syncRunFor } from '../../src/sync/context.ts';
import { longLivedConfig } from './amocrm.ts';
import { NOW } from './sync-stack.ts';
import { shippedMap } from './map.ts';
import { MemorySource, syntheticPatients } from './memory-source.ts';

const env = process.env;
const stateDir = env.STATE_DIR!;
const patients = Number(env.PATIENTS ?? 1000);
const owner = takeOwnerLock(stateDir);
const client = createAmoClient(
  longLivedConfig(env.EMULATOR_URL!, env.TOKEN!, { timeoutMs: Number(env.TIMEOUT_MS ?? 2000) }),
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
const result = await syncRunFor(
  { source, mapper, resolved, client, store, logger: silentLogger(), timeZone: 'Europe/Moscow' },
  { batchSize: 50, matchByPhone: true, overlapSeconds: 300, shouldStop: () => stop },
).run({ kind: env.KIND === 'deep' ? 'deep' : 'incremental' });
store.close();
owner.release();
process.stdout.write(
  `${JSON.stringify({ outcome: result.outcome, created: result.created, linked: result.linked, updated: result.updated, failed: result.failed, unchanged: result.unchanged, error: result.error?.message })}\n`,
);
process.exitCode = result.outcome === 'ok' || result.outcome === 'stopped' ? 0 : 1;
