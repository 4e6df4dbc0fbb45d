import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GeneratedReceptions } from '../../src/demo/receptions.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import { StateStore } from '../../src/state/store.ts';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  judgePending,
  PENDING_MARGIN_MS,
  type SentStamp,
} from '../../src/streams/runner/pending-age.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { dealStack } from '../helpers/deal-stack.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { runSyncChild, syncChildEnv } from '../helpers/sync-child-process.ts';
import { assertConverged, syncStack } from '../helpers/sync-stack.ts';
import { PAST_PENDING_WAIT_MS, TestClock } from '../helpers/test-clock.ts';

/** The wait of a pending create in the in-process stacks: their default 30 s timeout plus the margin. */
const WAIT_MS = DEFAULT_REQUEST_TIMEOUT_MS + PENDING_MARGIN_MS;

const createPosts = (emulator: AmoCrmEmulator, path: string) =>
  emulator.requests.filter((request) => request.method === 'POST' && request.path === path).length;

/** Deals by the value of their reception field: exactly one each is the rule. */
function dealsPerReception(emulator: AmoCrmEmulator, fieldId: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const lead of emulator.deals.leads.values()) {
    const value = lead.custom_fields_values?.find((field) => field.field_id === fieldId)?.values[0]?.value;
    if (value !== undefined) counts.set(String(value), (counts.get(String(value)) ?? 0) + 1);
  }
  return counts;
}

/** Until the emulator has applied every create it holds back (bounded by its own delay, not by load). */
async function appliedAll(emulator: AmoCrmEmulator): Promise<void> {
  while (emulator.delayedWrites > 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('issue 18, hole 1: pending means pending', () => {
  it('a create amoCRM applies after its answer was lost is not sent again by a run at once: 100 patients, 100 contacts', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(100));
      const stack = await syncStack(emulator, source);
      // Both create batches: the connection drops, amoCRM applies them later (released below).
      emulator.scriptFault({ method: 'POST', applyAfterMs: 600_000, drop: true });
      emulator.scriptFault({ method: 'POST', applyAfterMs: 600_000, drop: true });
      const first = await stack.run();
      assert.equal(first.outcome, 'ok', first.error?.message);
      assert.equal(emulator.delayedWrites, 2);

      // Restarted at once: amoCRM has not applied them yet, and has not had the time to.
      const postsBefore = createPosts(emulator, '/api/v4/contacts');
      const second = await stack.run();
      assert.equal(second.outcome, 'ok', second.error?.message);
      const postsAgain = createPosts(emulator, '/api/v4/contacts') - postsBefore;
      const pendingBetween = stack.store.pending().length;

      assert.equal(emulator.applyDelayedNow(), 2);
      const third = await stack.run();
      assert.equal(third.outcome, 'ok', third.error?.message);
      assert.equal(emulator.contacts.size, 100, 'one contact per patient');
      assert.equal(postsAgain, 0, 'nothing sent again');
      assert.equal(pendingBetween, 100);
      assert.deepEqual([first.created, first.failed, first.pending], [0, 0, 100]);
      assert.deepEqual([second.created, second.failed, second.pending], [0, 0, 100]);
      assert.deepEqual([third.linked, third.created, third.pending], [100, 0, 0]);
      assert.equal(stack.store.pending().length, 0);
      await assertConverged(emulator, source, stack);
    } finally {
      await emulator.stop();
    }
  });

  it('a create that truly never arrived is sent again only after the wait, by a listing taken after it; other patients go on', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(60));
      // Frozen: a second short of the wait stays short however long the runs take on a busy machine.
      const stack = await syncStack(emulator, source, { clock: new TestClock({ base: Date.now() }) });
      // The batch that arrives first (50 or 10: the two go out together, and which lands first
      // depends on the machine) is answered 503 without being applied; the other lands.
      emulator.scriptFault({ method: 'POST', status: 503 });
      const first = await stack.run();
      const lost = first.pending;
      assert.ok(lost === 50 || lost === 10, `${lost} pending`);
      assert.deepEqual([first.created, first.failed], [60 - lost, 0]);

      // A new patient meanwhile: not held up by the pending ones.
      source.put({ ...syntheticPatients(1, 500)[0]!, ChangedAt: source.tick(60_000) });
      stack.clock.advance(WAIT_MS - 1000);
      const early = await stack.run();
      assert.deepEqual([early.created, early.failed, early.pending], [1, 0, lost]);
      assert.equal(emulator.contacts.size, 61 - lost);

      stack.clock.advance(1000);
      const due = await stack.run();
      assert.equal(due.outcome, 'ok', due.error?.message);
      assert.deepEqual([due.created, due.pending], [lost, 0]);
      await assertConverged(emulator, source, stack);
    } finally {
      await emulator.stop();
    }
  });

  it('a wall clock stepped forward or back does not make a pending create lost; the monotonic wait does', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(20));
      const stack = await syncStack(emulator, source);
      emulator.scriptFault({ method: 'POST', applyAfterMs: 600_000, drop: true });
      assert.equal((await stack.run()).pending, 20);
      const posts = createPosts(emulator, '/api/v4/contacts');

      stack.clock.stepWall(86_400_000);
      assert.equal((await stack.run()).pending, 20, 'a day ahead on the wall clock: still pending');
      stack.clock.stepWall(-2 * 86_400_000);
      assert.equal((await stack.run()).pending, 20, 'a day behind: still pending');
      assert.equal(createPosts(emulator, '/api/v4/contacts'), posts);

      // amoCRM has had its time and applied it meanwhile: found, linked, nothing sent twice.
      emulator.applyDelayedNow();
      stack.clock.advance(PAST_PENDING_WAIT_MS);
      const settled = await stack.run();
      assert.deepEqual([settled.linked, settled.created, settled.pending], [20, 0, 0]);
      assert.equal(emulator.contacts.size, 20);
      await assertConverged(emulator, source, stack);
    } finally {
      await emulator.stop();
    }
  });

  it('deals: a create amoCRM applies after its answer was lost is not sent again by a run at once: 100 receptions, 100 deals', async () => {
    const emulator = await startEmulator();
    try {
      const patients = new MemorySource(syntheticPatients(50));
      const receptions = new GeneratedReceptions(100, { count: 50 });
      const stack = await dealStack(emulator, patients, receptions);
      const fieldId = stack.dealResolved.fields.find((field) => field.spec.key === 'reception_id')!.fieldId;
      assert.equal((await stack.run()).created, 50);
      emulator.scriptFault({ method: 'POST', applyAfterMs: 600_000, drop: true });
      emulator.scriptFault({ method: 'POST', applyAfterMs: 600_000, drop: true });
      const first = await stack.deals();
      assert.equal(first.outcome, 'ok', first.error?.message);

      const posts = createPosts(emulator, '/api/v4/leads');
      const second = await stack.deals();
      const postsAgain = createPosts(emulator, '/api/v4/leads') - posts;

      emulator.applyDelayedNow();
      const third = await stack.deals();
      assert.equal(emulator.deals.leads.size, 100, 'one deal per reception');
      const counts = dealsPerReception(emulator, fieldId);
      assert.equal(counts.size, 100);
      assert.ok([...counts.values()].every((count) => count === 1));
      assert.equal(postsAgain, 0, 'nothing sent again');
      assert.deepEqual([first.created, first.failed, first.pending], [0, 0, 100]);
      assert.deepEqual([second.created, second.failed, second.pending], [0, 0, 100]);
      assert.deepEqual([third.linked, third.created, third.pending], [100, 0, 0]);
    } finally {
      await emulator.stop();
    }
  });

  it('deals: a deal create that never arrived is sent again once the wait is over', async () => {
    const emulator = await startEmulator();
    try {
      const patients = new MemorySource(syntheticPatients(10));
      const receptions = new GeneratedReceptions(20, { count: 10 });
      const stack = await dealStack(emulator, patients, receptions);
      await stack.run();
      emulator.scriptFault({ method: 'POST', status: 503 });
      assert.equal((await stack.deals()).pending, 20);
      assert.equal((await stack.deals()).pending, 20);
      stack.clock.advance(WAIT_MS);
      const due = await stack.deals();
      assert.deepEqual([due.created, due.pending], [20, 0]);
      assert.equal(emulator.deals.leads.size, 20);
    } finally {
      await emulator.stop();
    }
  });

  it('a state folder from before keeps its pending creates: the columns are added, the wall clock judges them', () => {
    const stateDir = tempDir();
    const old = new DatabaseSync(join(stateDir, 'state.sqlite'));
    old.exec(`
      CREATE TABLE pending_creates (patient_id TEXT PRIMARY KEY, request_id TEXT NOT NULL, hash TEXT NOT NULL,
        created_at TEXT NOT NULL, phones TEXT NOT NULL DEFAULT '', emails TEXT NOT NULL DEFAULT '',
        known_max_id INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE deal_pending (reception_id TEXT PRIMARY KEY, patient_id TEXT NOT NULL, request_id TEXT NOT NULL,
        hash TEXT NOT NULL, state TEXT NOT NULL, role TEXT NOT NULL, pipeline_id INTEGER NOT NULL,
        status_id INTEGER NOT NULL, known_max_id INTEGER NOT NULL, created_at TEXT NOT NULL);
      INSERT INTO pending_creates (patient_id, request_id, hash, created_at, known_max_id)
        VALUES ('7', 'c7', 'h', '2026-11-22T09:00:00.000Z', 5);
      INSERT INTO deal_pending VALUES ('70', '7', 'c70', 'h', 'booked', 'primary', 1, 2, 5, '2026-11-22T09:00:00.000Z');
    `);
    old.close();
    const store = new StateStore(stateDir);
    try {
      const [pending] = store.pending();
      assert.deepEqual(pending!.sent, {
        sentAt: Date.parse('2026-11-22T09:00:00.000Z'),
        monotonic: undefined,
        boot: '',
      });
      assert.deepEqual(store.deals.pending()[0]!.sent, pending!.sent);
      const at = (wall: number) => ({
        clock: { now: () => wall, monotonic: () => 1_000_000, sleep: async () => undefined },
        boot: 'this-boot',
      });
      assert.equal(judgePending(pending!.sent, at(pending!.sent.sentAt + 61_000), 60_000).old, true);
      const young = judgePending(pending!.sent, at(pending!.sent.sentAt + 20_000), 60_000);
      assert.equal(young.old, false);
      // From now on it ages on this boot's monotonic clock, back-dated by the 20 s it had.
      assert.deepEqual(young.restamp, {
        sentAt: pending!.sent.sentAt + 20_000,
        monotonic: 980_000,
        boot: 'this-boot',
      });
    } finally {
      store.close();
    }
  });

  it('judging a pending create: monotonic on one boot, a fresh wait after a reboot or a clock dated behind it', () => {
    const now = (wall: number, monotonic: number, boot = 'b1') => ({
      clock: { now: () => wall, monotonic: () => monotonic, sleep: async () => undefined },
      boot,
    });
    const sent: SentStamp = { sentAt: 1_000_000, monotonic: 50_000, boot: 'b1' };
    // One boot: the wall clock's steps do not count.
    assert.equal(judgePending(sent, now(1_000_000 + 86_400_000, 51_000), 60_000).old, false);
    assert.equal(judgePending(sent, now(1_000_000 - 86_400_000, 110_000), 60_000).old, true);
    // Another boot: the wait starts again on this one.
    const rebooted = judgePending(sent, now(5_000_000, 10, 'b2'), 60_000);
    assert.deepEqual(rebooted, { old: false, restamp: { sentAt: 5_000_000, monotonic: 10, boot: 'b2' } });
    // No boot id on either side: the wall clock, unless the row is dated ahead of it.
    const unknown: SentStamp = { sentAt: 1_000_000, monotonic: undefined, boot: '' };
    assert.equal(judgePending(unknown, now(1_070_000, 0, ''), 60_000).old, true);
    assert.deepEqual(judgePending(unknown, now(1_000_000 - 3_600_000, 0, ''), 60_000), {
      old: false,
      restamp: { sentAt: 1_000_000 - 3_600_000, monotonic: 0, boot: '' },
    });
  });
});

describe('issue 18, hole 1: kill -9 while amoCRM still applies the first batch, restarted at once', () => {
  const token = 'pending-child-token-0123456789';
  async function preparedEmulator(seed: number): Promise<AmoCrmEmulator> {
    const emulator = await startEmulator({ seed });
    emulator.addLongLivedToken(token);
    const client = longLivedClient(emulator);
    await createMissingFields(shippedMap(), client.fields);
    await createMissingFields(shippedDealMap(), client.leadFields, 'deal');
    await createMissingPipelines(shippedDealMap(), client.pipelines);
    return emulator;
  }

  for (const entity of ['contacts', 'deals'] as const) {
    const story =
      entity === 'contacts' ? '100 patients → exactly 100 contacts' : '100 receptions → exactly 100 deals';
    it(`${entity}: ${story}`, async () => {
      const emulator = await preparedEmulator(entity === 'contacts' ? 181 : 182);
      try {
        const path = entity === 'contacts' ? '/api/v4/contacts' : '/api/v4/leads';
        // Every create is applied 1.2–3 s after it arrives, as by the proxy that found the hole; the
        // first batch is held until released below, so the restart surely comes while it is applied.
        emulator.setFaults({ delayedApplyRate: 1, delayedApplyMs: 3000 });
        emulator.scriptFault({ method: 'POST', applyAfterMs: 600_000, path });
        const env = {
          ...syncChildEnv(
            emulator,
            token,
            tempDir(),
            entity === 'contacts' ? 100 : 50,
            entity === 'deals' ? 100 : 0,
          ),
          TIMEOUT_MS: '5000',
        };
        const killed = await runSyncChild(env, { killWhen: () => createPosts(emulator, path) > 0 });
        assert.ok(killed.killed, 'killed during its first batch');

        const restarted = await runSyncChild(env);
        assert.equal(restarted.result?.outcome, 'ok', restarted.stderr);
        const waiting = entity === 'contacts' ? restarted.result!.pending : restarted.result!.dealsPending!;

        // amoCRM applies the first batch; a later run sends whatever never left, nothing twice.
        emulator.applyDelayedNow();
        await appliedAll(emulator);
        const later = await runSyncChild({ ...env, CLOCK_ELAPSED_MS: String(PAST_PENDING_WAIT_MS) });
        assert.equal(later.result?.outcome, 'ok', later.stderr);
        await appliedAll(emulator);
        const last = await runSyncChild({ ...env, CLOCK_ELAPSED_MS: String(2 * PAST_PENDING_WAIT_MS) });
        assert.equal(last.result?.outcome, 'ok', last.stderr);

        if (entity === 'contacts') assert.equal(emulator.contacts.size, 100, 'one contact per patient');
        else {
          assert.equal(emulator.contacts.size, 50, 'one contact per patient');
          assert.equal(emulator.deals.leads.size, 100, 'one deal per reception');
        }
        assert.ok(waiting >= 50, `the creates of the killed batch waited (${waiting})`);
        assert.equal(entity === 'contacts' ? last.result!.pending : last.result!.dealsPending, 0);
      } finally {
        await emulator.stop();
      }
    });
  }
});
