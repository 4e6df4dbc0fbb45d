import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import type { Strictness } from '../../src/emulator/server.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { assertConverged, compareWithSource, syncStack } from '../helpers/sync-stack.ts';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';

/** Each hole an outside review found (issue 11), as the sequence that reproduced it. */
describe('a sync without holes', () => {
  for (const [how, next] of [
    ['the next run fails on SQL', 'sql failure'],
    ['the next run is stopped', 'stopped'],
    ['the next run is a single-patient test of another patient', 'single'],
  ] as const) {
    it(`B1: a create answered 503 is created by a later incremental sync when ${how}`, async () => {
      const emulator = await startEmulator();
      try {
        const source = new MemorySource(syntheticPatients(3, 100));
        const stack = await syncStack(emulator, source);
        await stack.run();
        source.put({ ...syntheticPatients(1, 200)[0]!, ChangedAt: source.tick(60_000) });
        emulator.scriptFault({ method: 'POST', status: 503 });
        const first = await stack.run();
        assert.equal(first.patient?.action, 'uncertain');
        assert.deepEqual(
          stack.store.pending().map((entry) => entry.patientId),
          ['200'],
        );

        if (next === 'sql failure') {
          source.failAfter = 0;
          source.tick(60_000);
          assert.equal((await stack.run()).outcome, 'failed');
        } else if (next === 'stopped') {
          assert.equal(
            (await stack.run({ kind: 'incremental' }, { shouldStop: () => true })).outcome,
            'stopped',
          );
        } else {
          assert.equal((await stack.run({ kind: 'single', patientId: '101' })).outcome, 'ok');
          assert.deepEqual(
            stack.store.pending().map((entry) => entry.patientId),
            ['200'],
            'a single-patient run touches only its own pending create',
          );
        }
        // Never in no table: pending still, or a failure due now.
        const findable =
          stack.store.pending().some((entry) => entry.patientId === '200') ||
          stack.store.failuresDue().includes('200');
        assert.ok(findable, 'the patient is findable by the next run');

        source.tick(60_000);
        // The 503 was not applied: once amoCRM has had time to apply it, the create is sent again.
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        const last = await stack.run();
        assert.equal(last.outcome, 'ok', last.error?.message);
        await assertConverged(emulator, source, stack);
      } finally {
        await emulator.stop();
      }
    });
  }

  it('B3: creates whose answer was lost are found by listing, never by a lagging search', async () => {
    const emulator = await startEmulator({ strict: { searchLagMs: 600_000 } });
    try {
      const source = new MemorySource(syntheticPatients(120, 300));
      const stack = await syncStack(emulator, source);
      emulator.scriptFault({ method: 'POST', status: 502, applied: true });
      const first = await stack.run();
      assert.equal(first.outcome, 'ok');
      assert.equal(first.created, 120, 'the lost answer was settled in the same run');
      await assertConverged(emulator, source, stack);
      assert.ok(!emulator.requests.some((request) => request.query.includes('query=')));
    } finally {
      await emulator.stop();
    }
  });

  it('B5: a create batch refused for one item, after amoCRM stored the others, makes no duplicate', async () => {
    const emulator = await startEmulator({ strict: { createStoresValidItemsOn400: true } });
    try {
      const source = new MemorySource(syntheticPatients(50, 400));
      const stack = await syncStack(emulator, source);
      const mapper = stack.mapper;
      stack.mapper = ((row) => {
        const outcome = mapper(row);
        if (outcome.ok && row.PatientId === 420)
          outcome.contact.document.fields.find((f) => f.key === 'sms_rejection')!.value = 'maybe';
        return outcome;
      }) as typeof mapper;
      const result = await stack.run();
      assert.equal(result.created, 50);
      assert.equal(result.failed, 0);
      stack.mapper = mapper;
      const comparison = await compareWithSource(emulator, source, stack);
      assert.equal(comparison.duplicates, 0);
      assert.equal(comparison.missing, 0);
      assert.deepEqual(
        stack.store.fieldRefusals().map((refusal) => refusal.field),
        ['sms_rejection'],
      );
    } finally {
      await emulator.stop();
    }
  });

  for (const shape of [
    'validation',
    'bad-request',
    'not-found',
  ] as const satisfies Strictness['deletedContactPatch'][]) {
    it(`B7: a PATCH of a contact deleted in amoCRM (${shape}) writes the other 49, and the next deep sync 15 minutes on re-creates it`, async () => {
      const emulator = await startEmulator({ strict: { deletedContactPatch: shape } });
      try {
        const source = new MemorySource(syntheticPatients(60, 500));
        const stack = await syncStack(emulator, source);
        await stack.run();
        const deleted = stack.store.link('510')!.contactId;
        emulator.deleteContact(deleted);
        for (let id = 500; id < 550; id++) source.touch(id, { City: 'Казань' });
        const result = await stack.run();
        assert.equal(result.outcome, 'ok', result.error?.message);
        assert.equal(result.updated, 49);
        // Deleted or merged away? A merge's survivor may not be listed yet: no new contact now.
        assert.equal(result.created, 0);
        assert.equal(result.pending, 1);
        assert.equal(result.failed, 0);
        assert.equal(stack.store.link('510'), undefined);
        assert.ok(stack.store.checkpoint(), 'the checkpoint moved');
        const soon = await stack.run({ kind: 'deep' });
        assert.equal(soon.created, 0, 'a deep sync right after proves nothing yet');
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        const later = await stack.run({ kind: 'deep' });
        assert.equal(later.created, 1);
        assert.notEqual(stack.store.link('510')!.contactId, deleted);
        assert.equal(stack.store.vanishedCount(), 0);
        await assertConverged(emulator, source, stack);
      } finally {
        await emulator.stop();
      }
    });
  }

  it('B2/B6: a deep sync repairs contacts deleted, merged away, edited by hand or given another IDENT id — and only those', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(40, 600));
      const stack = await syncStack(emulator, source);
      await stack.run();
      const contactOf = (id: number) => stack.store.link(String(id))!.contactId;
      const identField = identFieldId(stack.resolved);
      emulator.deleteContact(contactOf(601));
      emulator.mergeContacts(contactOf(602), contactOf(603));
      emulator.editContact(contactOf(604), (contact) => {
        contact.name = 'Переименован вручную';
        contact.custom_fields_values = contact.custom_fields_values!.filter(
          (field) => field.field_name !== 'Город' && field.field_name !== 'Номер карты',
        );
      });
      emulator.editContact(contactOf(605), (contact) => {
        contact.custom_fields_values!.find((field) => field.field_id === identField)!.values = [
          { value: '999999' },
        ];
      });
      const writesBefore = emulator.writeRequests().length;
      const deep = await stack.run({ kind: 'deep' });
      assert.equal(deep.outcome, 'ok', deep.error?.message);
      // Re-created: the one whose contact now names another patient. Repaired: the hand-edited
      // one, and the merge's survivor if it took over values. The deleted one and the one merged
      // away wait (a survivor may not be listed yet) for a deep sync a pending wait later.
      assert.equal(deep.created, 1, JSON.stringify({ ...deep, patient: undefined }));
      assert.equal(deep.pending, 2);
      assert.ok(deep.repaired >= 1 && deep.repaired <= 2, `${deep.repaired} repaired`);
      // The contact given another IDENT id is left as it is, and reported: nothing is ever deleted.
      assert.deepEqual(await compareWithSource(emulator, source, stack), {
        duplicates: 0,
        missing: 2,
        wrong: 0,
        extra: 1,
      });
      assert.deepEqual(
        stack.store.findings('orphan').map((finding) => finding.patientId),
        ['999999'],
      );
      assert.ok(emulator.writeRequests().length - writesBefore <= 2, 'one update batch and one create batch');
      stack.clock.advance(PAST_PENDING_WAIT_MS);
      const later = await stack.run({ kind: 'deep' });
      assert.equal(later.created, 2, JSON.stringify({ ...later, patient: undefined }));
      assert.deepEqual(await compareWithSource(emulator, source, stack), {
        duplicates: 0,
        missing: 0,
        wrong: 0,
        extra: 1,
      });

      const writes = emulator.writeRequests().length;
      const quiet = await stack.run({ kind: 'deep' });
      assert.equal(quiet.repaired + quiet.created + quiet.updated, 0);
      assert.equal(emulator.writeRequests().length, writes, 'an undrifted clinic costs no write');
    } finally {
      await emulator.stop();
    }
  });

  it('an idle clinic costs at most 2 requests per incremental run', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(300, 700));
      const stack = await syncStack(emulator, source);
      await stack.run();
      await stack.run();
      source.tick(120_000);
      const idle = await stack.run();
      assert.ok(idle.requests <= 2, `${idle.requests} requests`);
    } finally {
      await emulator.stop();
    }
  });
});
