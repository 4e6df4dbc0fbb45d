/**
 * Chaos trials of amoCRM as it really is (issue 11): a lagging search, lost create answers, a
 * refused batch after the rest was stored, PATCHes of deleted contacts, and contacts deleted,
 * merged and edited by hand between deep syncs. Each ends by comparing amoCRM with the source.
 */
import { createAmoClient } from '../../src/amocrm/client.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { Mapper } from '../../src/mapping/mapper.ts';
import type { AmoCrmEmulator, Strictness } from '../../src/emulator/server.ts';
import { amoConfig, fastTuning, tempDir } from '../helpers/amocrm.ts';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';
import { MemorySource, syntheticPatients as patients } from '../helpers/memory-source.ts';
import { runSyncChild, syncChildEnv } from '../helpers/sync-child-process.ts';
import { compareWithSource, type SyncStack, syncStack } from '../helpers/sync-stack.ts';
import {
  compare,
  completedOrKilled,
  emulatorVerdict,
  preparedEmulator,
  sleep,
  type TrialResult,
} from './trial-kit.ts';

const TEN_MINUTES = 600_000;

/** A sync of its own against a prepared emulator, sharing the trial's one limiter. */
async function stackOn(emulator: AmoCrmEmulator, token: string, source: MemorySource): Promise<SyncStack> {
  const client = createAmoClient(
    amoConfig(emulator, { longLivedToken: token }),
    tempDir(),
    silentLogger(),
    fastTuning(emulator),
  );
  return syncStack(emulator, source, { client });
}

/** Runs until a run is clean (at most `limit`), returning how many it took. */
async function untilClean(stack: SyncStack, kind: 'incremental' | 'deep', limit = 4): Promise<number> {
  let runs = 0;
  while (runs < limit) {
    runs += 1;
    const result = await stack.run({ kind });
    if (result.outcome === 'ok' && result.failed === 0 && stack.store.pending().length === 0) break;
  }
  return runs;
}

/**
 * `kill -9` while fewer than 25 creates are in flight, on a server whose search lags 10 minutes:
 * the next process settles them by listing the newest contacts, not by search.
 */
export async function lagKillTrial(seed: number): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(seed, {
    latencyMs: 400,
    strict: { searchLagMs: TEN_MINUTES },
  });
  try {
    const count = 20;
    const env = syncChildEnv(emulator, token, tempDir(), count);
    await sleep(1100);
    // The POST is applied as it arrives; its answer comes 400 ms later — the kill lands in between.
    const first = await completedOrKilled(
      runSyncChild(env, {
        killWhen: () =>
          emulator.requests.some(
            (request) => request.method === 'POST' && request.path === '/api/v4/contacts',
          ),
      }),
    );
    const landed = emulator.contacts.size;
    await sleep(1100);
    await completedOrKilled(runSyncChild(env));
    const comparison = await compare(emulator, new MemorySource(patients(count)), token);
    return {
      trial: 'search lags 10 min: kill -9 with < 25 creates pending',
      runs: 2,
      detail: first.killed
        ? `killed with ${landed}/${count} created, answer unread`
        : 'finished before the kill',
      ...emulatorVerdict(emulator),
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}

/** Create answers lost after the write was applied, while the search lags 10 minutes. */
export async function lostAnswerTrial(count: number, seed: number): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(seed, { strict: { searchLagMs: TEN_MINUTES } });
  try {
    const source = new MemorySource(patients(count));
    const stack = await stackOn(emulator, token, source);
    emulator.setFaults({ appliedServerErrorRate: 0.3 });
    const runs = await untilClean(stack, 'incremental');
    emulator.setFaults({});
    const comparison = await compareWithSource(emulator, source, stack);
    return {
      trial: 'lost create answers, search lags 10 min',
      runs,
      detail: `${emulator.requests.filter((request) => request.fault === 'applied 5xx').length} answers lost after the write`,
      ...emulatorVerdict(emulator),
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}

/** One item of each create batch refused after amoCRM stored the others. */
export async function refusedBatchTrial(count: number, seed: number): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(seed, { strict: { createStoresValidItemsOn400: true } });
  try {
    const source = new MemorySource(patients(count));
    const stack = await stackOn(emulator, token, source);
    const mapper = stack.mapper;
    // Every 50th patient carries a checkbox value amoCRM refuses (it is then sent without it).
    stack.mapper = ((row) => {
      const outcome = mapper(row);
      if (outcome.ok && Number(row.PatientId) % 50 === 7)
        outcome.contact.document.fields.find((field) => field.key === 'sms_rejection')!.value = 'maybe';
      return outcome;
    }) as Mapper;
    const runs = await untilClean(stack, 'incremental');
    stack.mapper = mapper;
    const comparison = await compareWithSource(emulator, source, stack);
    return {
      trial: 'create batch refused for one item after the rest was stored',
      runs,
      detail: `${stack.store.fieldRefusalCount()} refused value(s) recorded, contacts written without them`,
      ...emulatorVerdict(emulator),
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}

/** Contacts deleted in amoCRM, then their patients change: each of the three answers amoCRM may give. */
export async function deletedPatchTrial(
  shape: Strictness['deletedContactPatch'],
  count: number,
  seed: number,
): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(seed, { strict: { deletedContactPatch: shape } });
  try {
    const source = new MemorySource(patients(count));
    const stack = await stackOn(emulator, token, source);
    await stack.run();
    const doomed = [3, 17, 42].map((id) => stack.store.link(String(id))!.contactId);
    for (const id of doomed) emulator.deleteContact(id);
    for (let id = 1; id <= Math.min(count, 100); id++) source.touch(id, { City: 'Казань' });
    const runs = await untilClean(stack, 'incremental');
    // Deleted or merged away cannot be told apart at once: the first deep sync a pending wait on
    // makes them again.
    stack.clock.advance(PAST_PENDING_WAIT_MS);
    await stack.run({ kind: 'deep' });
    const comparison = await compareWithSource(emulator, source, stack);
    return {
      trial: `PATCH of deleted contacts (${shape})`,
      runs: runs + 2,
      detail: `${doomed.length} contacts deleted; checkpoint ${stack.store.checkpoint() ? 'moved' : 'stuck'}`,
      ...emulatorVerdict(emulator),
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}

/** Contacts deleted, merged and edited by hand between two deep syncs: the second repairs them all. */
export async function repairTrial(count: number, seed: number): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(seed);
  try {
    const source = new MemorySource(patients(count));
    const stack = await stackOn(emulator, token, source);
    await stack.run({ kind: 'deep' });
    const contactOf = (id: number) => stack.store.link(String(id))!.contactId;
    emulator.deleteContact(contactOf(5));
    emulator.deleteContact(contactOf(6));
    emulator.mergeContacts(contactOf(10), contactOf(11));
    emulator.mergeContacts(contactOf(20), contactOf(21));
    for (const id of [30, 31, 32]) {
      emulator.editContact(contactOf(id), (contact) => {
        contact.name = 'Изменено вручную';
        contact.custom_fields_values = (contact.custom_fields_values ?? []).filter(
          (field) => field.field_code !== 'PHONE' && field.field_name !== 'Номер карты',
        );
      });
    }
    const deep = await stack.run({ kind: 'deep' });
    // The deleted and the merged-away are made again by the first deep sync a pending wait on.
    stack.clock.advance(PAST_PENDING_WAIT_MS);
    const later = await stack.run({ kind: 'deep' });
    const writes = emulator.writeRequests().length;
    const after = await stack.run({ kind: 'deep' });
    const comparison = await compareWithSource(emulator, source, stack);
    return {
      trial: 'deleted, merged, edited by hand between deep syncs',
      runs: 4,
      detail: `repaired ${deep.repaired}, re-created ${later.created} a pending wait later; the next deep sync wrote ${emulator.writeRequests().length - writes} time(s)`,
      ...emulatorVerdict(emulator),
      ...comparison,
      // A deep sync after the repair must find nothing to write.
      wrong: comparison.wrong + after.updated + after.created + after.repaired,
    };
  } finally {
    await emulator.stop();
  }
}
