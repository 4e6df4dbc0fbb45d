import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StateStore } from '../../src/state/store.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatient, syntheticPatients, T0 } from '../helpers/memory-source.ts';
import { assertConverged, compareWithSource, syncStack } from '../helpers/sync-stack.ts';
import { identFieldId } from '../../src/mapping/catalogue.ts';

const patients = syntheticPatients;

describe('sync engine against the emulator', () => {
  let emulator: AmoCrmEmulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator.stop();
    // Not the arrivals per second: they depend on the host's load (test/sim judges the pace in virtual time).
    assert.equal(emulator.blocked, false);
  });

  it('an initial sync of 2 000 patients leaves amoCRM equal to the map of the source; a second run writes nothing; 10 changes update exactly 10', async () => {
    const source = new MemorySource(patients(2000));
    const stack = await syncStack(emulator, source);
    const first = await stack.run();
    assert.equal(first.outcome, 'ok', first.error?.message);
    assert.equal(first.created, 2000);
    await assertConverged(emulator, source, stack);
    assert.ok(first.requests <= 2000 / 50 + 3, `${first.requests} requests`);

    const writesBefore = emulator.writeRequests().length;
    source.tick(3_600_000);
    const second = await stack.run({ kind: 'deep' });
    assert.equal(second.outcome, 'ok');
    assert.equal(second.unchanged, 2000);
    assert.equal(emulator.writeRequests().length, writesBefore, 'no write on an unchanged clinic');

    for (let id = 100; id < 110; id++) source.touch(id, { City: 'Пермь' });
    const third = await stack.run();
    assert.equal(third.updated, 10);
    assert.equal(third.created, 0);
    assert.equal(emulator.writeRequests().length, writesBefore + 1);
    const updated = emulator.writeRequests().at(-1)!;
    assert.equal(updated.items, 10);
    await assertConverged(emulator, source, stack);
    assert.ok(third.read < 100, `incremental read ${third.read} rows`);
  });

  it('bad rows are recorded and skipped, a refused value costs one field, the rest is synced and the checkpoint moves', async () => {
    const fresh = await startEmulator();
    try {
      const rows = patients(60, 5000);
      rows[3] = { ...rows[3]!, PatientId: 'not-a-number' } as never;
      rows[10] = { ...rows[10]!, Comment: 'x'.repeat(5000) };
      const source = new MemorySource(rows);
      const stack = await syncStack(fresh, source);
      // amoCRM refuses one item of a batch: the checkbox gets a string.
      const broken = rows[20]!.PatientId;
      const mapper = stack.mapper;
      stack.mapper = ((row) => {
        const outcome = mapper(row);
        if (outcome.ok && row.PatientId === broken) {
          const field = outcome.contact.document.fields.find((f) => f.key === 'sms_rejection')!;
          field.value = 'maybe';
          outcome.contact.hash = `${outcome.contact.hash}x`;
        }
        return outcome;
      }) as typeof mapper;
      const result = await new (await import('../../src/streams/contacts/run.ts')).SyncRun(
        {
          timeZone: 'Europe/Moscow',
          source,
          mapper: stack.mapper,
          resolved: stack.resolved,
          contacts: stack.client.contacts,
          store: stack.store,
          logger: (await import('../../src/logging/logger.ts')).silentLogger(),
          requestCount: () => stack.client.http.stats.requests,
        },
        { batchSize: 50, matchByPhone: true, overlapSeconds: 300 },
      ).run({ kind: 'incremental' });
      assert.equal(result.outcome, 'ok', result.error?.stack);
      // The row without an id is counted, not stored: it could never be fetched again by id.
      assert.equal(result.failed, 1);
      assert.equal(stack.store.failureCount(), 0);
      // The refused value costs that field of that patient: the contact is created without it.
      assert.equal(result.created, 59);
      assert.deepEqual(
        stack.store.fieldRefusals().map((refusal) => [refusal.patientId, refusal.field]),
        [[String(broken), 'sms_rejection']],
      );
      assert.equal(fresh.contactsWithField(identFieldId(stack.resolved), String(broken)).length, 1);
      assert.ok(stack.store.checkpoint(), 'the checkpoint moved');
    } finally {
      await fresh.stop();
    }
  });

  it('links existing contacts by IDENT id after the state is lost, without writing when they are equal', async () => {
    const fresh = await startEmulator();
    try {
      const source = new MemorySource(patients(80, 7000));
      const stack = await syncStack(fresh, source);
      await stack.run();
      const writes = fresh.writeRequests().length;
      // The state folder is lost: a new one starts from nothing.
      const again = await syncStack(fresh, source, { client: stack.client });
      const result = await again.run();
      assert.equal(result.linked, 80);
      assert.equal(result.created, 0);
      assert.equal(fresh.writeRequests().length, writes, 'nothing sent: amoCRM already holds the same data');
      assert.equal((await compareWithSource(fresh, source, stack)).duplicates, 0);
    } finally {
      await fresh.stop();
    }
  });

  for (const [how, typed] of [
    ['as IDENT writes it', '89161234567'],
    ['typed by a receptionist, with the search turned off', '8 (916) 123-45-67'],
  ] as const) {
    it(`links a contact found by phone with a compatible name; a relative on the same phone gets their own (${how})`, async () => {
      const fresh = await startEmulator();
      try {
        const mother = {
          ...syntheticPatient(9001, T0),
          Surname: 'Иванова',
          Name: 'Мария',
          MobilePhone: '8 916 123 45 67',
        };
        const son = {
          ...syntheticPatient(9002, T0),
          Surname: 'Иванов',
          Name: 'Пётр',
          MobilePhone: '+7 916 123-45-67',
        };
        const source = new MemorySource([mother, son]);
        const stack = await syncStack(fresh, source);
        const lead = fresh.seedContact({
          name: 'Мария',
          custom_fields_values: [{ field_code: 'PHONE', values: [{ value: typed, enum_code: 'MOB' }] }],
        });
        // Matching never asks amoCRM's full-text search: its tokenizer and lag are unknown.
        fresh.strict.searchLagMs = 3_600_000;
        const result = await stack.run({ kind: 'incremental' });
        assert.ok(!fresh.requests.some((request) => request.query.includes('query=')), 'no full-text search');
        assert.equal(result.linked, 1);
        assert.equal(result.created, 1);
        assert.equal(stack.store.link('9001')!.contactId, lead.id);
        assert.notEqual(stack.store.link('9002')!.contactId, lead.id);
        assert.equal(
          fresh.contacts.get(lead.id)!.name,
          `Иванова Мария ${syntheticPatient(9001, T0).Patronymic}`,
        );
      } finally {
        await fresh.stop();
      }
    });
  }

  it('MATCH_BY_PHONE=false never links by phone', async () => {
    const fresh = await startEmulator();
    try {
      const source = new MemorySource([
        { ...syntheticPatient(9101, T0), Name: 'Мария', MobilePhone: '8 916 765 43 21' },
      ]);
      const stack = await syncStack(fresh, source);
      fresh.seedContact({
        name: 'Мария',
        custom_fields_values: [{ field_code: 'PHONE', values: [{ value: '+79167654321' }] }],
      });
      const result = await stack.run({ kind: 'incremental' }, { matchByPhone: false });
      assert.equal(result.created, 1);
      assert.equal(result.linked, 0);
    } finally {
      await fresh.stop();
    }
  });

  it('a deep sync reports duplicates and contacts whose patient is gone, and deletes nothing', async () => {
    const fresh = await startEmulator();
    try {
      const source = new MemorySource(patients(30, 8000));
      const stack = await syncStack(fresh, source);
      await stack.run();
      const identField = identFieldId(stack.resolved);
      fresh.seedContact({
        name: 'Копия',
        custom_fields_values: [{ field_id: identField, values: [{ value: '8005' }] }],
      });
      source.remove(8010);
      const before = fresh.contacts.size;
      const result = await stack.run({ kind: 'deep' });
      assert.equal(result.outcome, 'ok');
      assert.equal(result.duplicates, 1);
      assert.equal(result.orphans, 1);
      assert.deepEqual(
        stack.store.findings('orphan').map((f) => f.patientId),
        ['8010'],
      );
      assert.equal(stack.store.findings('duplicate')[0]!.patientId, '8005');
      assert.equal(fresh.contacts.size, before);
    } finally {
      await fresh.stop();
    }
  });

  it('a deep sync does not report the contact of a patient whose row now fails as gone', async () => {
    const fresh = await startEmulator();
    try {
      const source = new MemorySource(patients(5, 8300));
      const stack = await syncStack(fresh, source);
      await stack.run();
      const row = { ...source.rows.get('8302')! };
      // A value the driver cannot hand over: reading it throws, so the row fails to map.
      Object.defineProperty(row, 'Surname', {
        enumerable: true,
        get() {
          throw new Error('unreadable column');
        },
      });
      source.put(row);
      const result = await stack.run({ kind: 'deep' });
      assert.equal(result.outcome, 'ok');
      assert.equal(result.failed, 1);
      assert.equal(result.orphans, 0);
      assert.deepEqual(stack.store.findings('orphan'), []);
      assert.match(stack.store.failures()[0]!.reason, /unreadable column/);
    } finally {
      await fresh.stop();
    }
  });

  it('a single patient goes through the same path', async () => {
    const fresh = await startEmulator();
    try {
      const source = new MemorySource(patients(5, 8500));
      const stack = await syncStack(fresh, source);
      const result = await stack.run({ kind: 'single', patientId: '8502' });
      assert.equal(result.created, 1);
      assert.equal(result.patient?.action, 'created');
      assert.equal(fresh.contacts.size, 1);
      const dry = await stack.run({ kind: 'single', patientId: '8503' }, { dryRun: true });
      assert.equal(dry.patient?.action, 'created');
      assert.equal(fresh.contacts.size, 1, 'a dry run writes nothing');
      const missing = await stack.run({ kind: 'single', patientId: '1' });
      assert.equal(missing.patient?.action, 'not found');
    } finally {
      await fresh.stop();
    }
  });

  it('a failed patient is retried on a later run even when its row did not change', async () => {
    const fresh = await startEmulator();
    try {
      const source = new MemorySource(patients(3, 8800));
      const stack = await syncStack(fresh, source);
      await stack.run();
      source.tick(3_600_000);
      await stack.run();
      // Patient 8801 failed an hour ago (its retry is due) and its contact is gone from the state.
      const state = stack.store as unknown as { sql(query: string): { run(...values: string[]): void } };
      state.sql('DELETE FROM links WHERE patient_id = ?').run('8801');
      stack.store.recordFailures(
        [{ patientId: '8801', reason: 'amoCRM refused the contact', dueNow: true }],
        new Date(Date.now() - 3_600_000),
      );
      const result = await stack.run();
      assert.equal(result.read, 1, 'only the due failure was read');
      assert.equal(result.linked, 1, 'found again by its IDENT id, not duplicated');
      assert.equal(stack.store.failureCount(), 0);
      assert.equal((await compareWithSource(fresh, source, stack)).duplicates, 0);
    } finally {
      await fresh.stop();
    }
  });

  it('a second process on the same state folder is refused', async () => {
    const { ProcessLock } = await import('../../src/state/process-lock.ts');
    const dir = (await import('../helpers/amocrm.ts')).tempDir();
    const first = ProcessLock.take(dir, 'owner', 'another ident-sync process');
    assert.throws(
      () => ProcessLock.take(dir, 'owner', 'another ident-sync process'),
      /another ident-sync process already uses .*; stop it first/,
    );
    first.release();
    ProcessLock.take(dir, 'owner', 'x').release();
    const store = new StateStore(dir);
    store.close();
  });
});
