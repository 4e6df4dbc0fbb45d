import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import type { Mapper } from '../../src/mapping/mapper.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { dealStack } from '../helpers/deal-stack.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, syntheticPatients, T0 } from '../helpers/memory-source.ts';
import { syncStack, type SyncStack } from '../helpers/sync-stack.ts';
import { TestClock } from '../helpers/test-clock.ts';

const HOUR = 3600_000;

const phonesOf = (emulator: AmoCrmEmulator, contactId: number) =>
  (emulator.contacts.get(contactId)!.custom_fields_values ?? [])
    .find((field) => field.field_code === 'PHONE')
    ?.values.map((value) => String(value.value)) ?? [];

/** IDENT's mobile number goes out with an enum amoCRM's PHONE field lacks until an admin adds it. */
function withUnknownPhoneEnum(stack: SyncStack, patientIds: readonly string[]): void {
  const mapper = stack.mapper;
  stack.mapper = ((row) => {
    const outcome = mapper(row);
    if (outcome.ok && patientIds.includes(outcome.contact.patientId))
      outcome.contact.document.phones = outcome.contact.document.phones.map((phone) => ({
        ...phone,
        enum_code: 'CLINIC',
      }));
    return outcome;
  }) as Mapper;
}

/** The admin adds the missing option to amoCRM's PHONE field. */
function addPhoneEnum(emulator: AmoCrmEmulator): void {
  const phone = [...emulator.fields.values()].find((field) => field.code === 'PHONE')!;
  phone.enums = [...(phone.enums ?? []), { id: 990_001, value: 'CLINIC', sort: 99 }];
}

const refusedFields = (stack: SyncStack, patientId: string) =>
  stack.store
    .fieldRefusals(100)
    .filter((refusal) => refusal.patientId === patientId)
    .map((refusal) => refusal.field);

describe('refused values stand until they land, and a deep sync tries them again once a day', () => {
  it('H6a: a standing refusal survives an unrelated update of the patient while amoCRM still lacks the value', async () => {
    const emulator = await startEmulator();
    try {
      const clock = new TestClock({ base: Date.parse('2026-11-22T08:00:00Z') });
      const source = new MemorySource([
        { ...syntheticPatient(9501, T0), MobilePhone: '89160000501', Phone: null },
      ]);
      const stack = await syncStack(emulator, source, { clock });
      withUnknownPhoneEnum(stack, ['9501']);
      assert.equal((await stack.run({ kind: 'incremental' })).created, 1);
      assert.deepEqual(refusedFields(stack, '9501'), ['PHONE']);
      const contactId = stack.store.link('9501')!.contactId;

      clock.advance(HOUR);
      source.touch(9501, { City: 'Тверь' });
      const update = await stack.run({ kind: 'incremental' });
      assert.equal(update.updated, 1);
      assert.deepEqual(phonesOf(emulator, contactId), [], 'amoCRM still lacks the number');
      assert.deepEqual(refusedFields(stack, '9501'), ['PHONE'], '`status` still lists the refusal');
      const [refusal] = stack.store.fieldRefusals(100).filter((entry) => entry.patientId === '9501');
      assert.equal(refusal!.hash, stack.store.link('9501')!.hash, 'it stands at the content last sent');

      // A deep sync within the day neither resends it nor counts the missing number as drift.
      clock.advance(HOUR);
      const writes = emulator.writeRequests().length;
      await stack.run({ kind: 'deep' });
      assert.equal(emulator.writeRequests().length, writes);
    } finally {
      await emulator.stop();
    }
  });

  it('a patient IDENT no longer has leaves no refusal or vanished contact on record after a deep sync', async () => {
    const emulator = await startEmulator();
    try {
      const clock = new TestClock({ base: Date.parse('2026-11-22T08:00:00Z') });
      const source = new MemorySource([
        { ...syntheticPatient(9511, T0), MobilePhone: '89160000511', Phone: null },
        { ...syntheticPatient(9512, T0), MobilePhone: '89160000512', Phone: null },
        { ...syntheticPatient(9513, T0), MobilePhone: '89160000513', Phone: null },
      ]);
      const stack = await syncStack(emulator, source, { clock });
      withUnknownPhoneEnum(stack, ['9511', '9513']);
      await stack.run({ kind: 'incremental' });
      assert.equal(stack.store.fieldRefusalCount(), 2);
      emulator.deleteContact(stack.store.link('9512')!.contactId);
      await stack.run({ kind: 'deep' });
      assert.equal(stack.store.vanishedCount(), 1);
      source.remove('9511');
      source.remove('9512');
      clock.advance(HOUR);
      await stack.run({ kind: 'deep' });
      assert.deepEqual(
        stack.store.fieldRefusals(100).map((refusal) => refusal.patientId),
        ['9513'],
        'the one still in IDENT stays listed',
      );
      assert.equal(stack.store.vanishedCount(), 0);
    } finally {
      await emulator.stop();
    }
  });

  it('H6b: a value refused once arrives after an admin fixes the field, by the next deep sync a day on; never twice a day', async () => {
    const emulator = await startEmulator();
    try {
      const clock = new TestClock({ base: Date.parse('2026-11-22T08:00:00Z') });
      const source = new MemorySource([
        { ...syntheticPatient(9511, T0), MobilePhone: '89160000511', Phone: null },
      ]);
      const stack = await syncStack(emulator, source, { clock });
      withUnknownPhoneEnum(stack, ['9511']);
      await stack.run({ kind: 'incremental' });
      const contactId = stack.store.link('9511')!.contactId;
      assert.deepEqual(refusedFields(stack, '9511'), ['PHONE']);

      addPhoneEnum(emulator);
      // The evening's deep sync, 12 hours on: not yet (at most once a day per refusal).
      clock.advance(12 * HOUR);
      let writes = emulator.writeRequests().length;
      await stack.run({ kind: 'deep' });
      assert.equal(emulator.writeRequests().length, writes, 'not tried twice within a day');

      // The next morning's: tried again, and it lands.
      clock.advance(12 * HOUR);
      const deep = await stack.run({ kind: 'deep' });
      assert.equal(deep.outcome, 'ok', deep.error?.message);
      assert.equal(deep.repaired, 1);
      assert.deepEqual(phonesOf(emulator, contactId), ['+79160000511']);
      assert.deepEqual(refusedFields(stack, '9511'), [], 'the refusal ended when the value landed');
      assert.deepEqual(stack.store.link('9511')!.ownedPhones, ['+79160000511']);

      // In step now: the next deep sync writes nothing.
      clock.advance(12 * HOUR);
      writes = emulator.writeRequests().length;
      const again = await stack.run({ kind: 'deep' });
      assert.equal(again.repaired + again.updated, 0);
      assert.equal(emulator.writeRequests().length, writes);
    } finally {
      await emulator.stop();
    }
  });

  it('H6b: a retry refused again costs that field of that patient, never the batch, and waits another day', async () => {
    const emulator = await startEmulator();
    try {
      const clock = new TestClock({ base: Date.parse('2026-11-22T08:00:00Z') });
      const rows = syntheticPatients(50, 9600).map((row) => ({
        ...row,
        MobilePhone: '8916000' + row.PatientId,
      }));
      const source = new MemorySource(rows);
      const stack = await syncStack(emulator, source, { clock });
      withUnknownPhoneEnum(stack, ['9620']);
      const first = await stack.run({ kind: 'incremental' });
      assert.equal(first.created, 50);
      assert.equal(first.failed, 0);
      assert.deepEqual(refusedFields(stack, '9620'), ['PHONE']);

      // A manager edits every contact: the deep sync a day on repairs all 50 in one batch, the
      // refused number among them (not fixed in amoCRM, so refused again).
      for (const row of rows) {
        const contactId = stack.store.link(String(row.PatientId))!.contactId;
        emulator.editContact(contactId, (contact) => {
          contact.first_name = 'Изменено';
        });
      }
      clock.advance(24 * HOUR);
      const deep = await stack.run({ kind: 'deep' });
      assert.equal(deep.outcome, 'ok', deep.error?.message);
      assert.equal(deep.repaired, 50);
      assert.equal(deep.failed, 0);
      const [refusal] = stack.store.fieldRefusals(100).filter((entry) => entry.patientId === '9620');
      assert.equal(refusal?.field, 'PHONE');
      assert.equal(refusal.triedAt, new Date(clock.now()).toISOString(), 'its last try moved');
      for (const row of rows) {
        const contact = emulator.contacts.get(stack.store.link(String(row.PatientId))!.contactId)!;
        assert.notEqual(contact.first_name, 'Изменено');
      }

      clock.advance(12 * HOUR);
      const writes = emulator.writeRequests().length;
      await stack.run({ kind: 'deep' });
      assert.equal(emulator.writeRequests().length, writes, 'the second deep sync of the day writes nothing');
    } finally {
      await emulator.stop();
    }
  });
});

describe('refused values and crashes', () => {
  it('H6: a retry amoCRM took whose link save a kill lost ends its refusal at the next deep sync, without writing', async () => {
    const emulator = await startEmulator();
    try {
      const clock = new TestClock({ base: Date.parse('2026-11-22T08:00:00Z') });
      const source = new MemorySource([
        { ...syntheticPatient(9701, T0), MobilePhone: '89160000701', Phone: null },
      ]);
      const stack = await syncStack(emulator, source, { clock });
      withUnknownPhoneEnum(stack, ['9701']);
      await stack.run({ kind: 'incremental' });
      addPhoneEnum(emulator);
      clock.advance(24 * HOUR);
      // The process dies after amoCRM applied the retry, before the link and refusal are saved.
      const save = stack.store.saveLinks.bind(stack.store);
      stack.store.saveLinks = () => {
        stack.store.saveLinks = save;
        throw new Error('killed');
      };
      assert.equal((await stack.run({ kind: 'deep' })).outcome, 'failed');
      assert.deepEqual(refusedFields(stack, '9701'), ['PHONE']);

      clock.advance(HOUR);
      const writes = emulator.writeRequests().length;
      const next = await stack.run({ kind: 'deep' });
      assert.equal(next.outcome, 'ok', next.error?.message);
      assert.equal(emulator.writeRequests().length, writes, 'the number is there: nothing to send');
      assert.deepEqual(refusedFields(stack, '9701'), [], 'nor a refusal to list');
    } finally {
      await emulator.stop();
    }
  });
});

describe('refused deal values', () => {
  it('H6b: a deal value refused once arrives after an admin fixes the field, by a deep sync a day on; a placement kept by hand ends no refusal', async () => {
    const emulator = await startEmulator();
    try {
      const clock = new TestClock({ base: Date.parse('2026-11-22T08:00:00Z') });
      const patients = new MemorySource([syntheticPatient(1, T0)]);
      const receptions = new MemoryReceptions(patients, [
        {
          ReceptionId: 12,
          PatientId: 1,
          PlanStart: new Date(T0.getTime() + 5 * 24 * HOUR),
          Doctor: 'Зубов Пётр Ильич',
        },
      ]);
      const stack = await dealStack(emulator, patients, receptions, { clock });
      // An admin set the doctor field up as a number: amoCRM refuses the text.
      const doctorId = stack.dealResolved.fields.find((field) => field.spec.key === 'doctor')!.fieldId;
      emulator.deals.fields.get(doctorId)!.type = 'numeric';
      const first = await stack.both('incremental');
      assert.equal(first.created, 1);
      assert.equal(first.failed, 0);
      const refused = () => stack.store.deals.refusals(100).map((refusal) => refusal.field);
      assert.deepEqual(refused(), ['doctor']);
      const link = stack.store.deals.links(['12']).get('12')!;

      // A save of the link that writes nothing (the placement a manager chose is kept) ends no refusal.
      stack.store.deals.saveLinks([{ ...link, state: 'arrived', landed: [] }], new Date(clock.now()));
      stack.store.deals.saveLinks([{ ...link }], new Date(clock.now()));
      assert.deepEqual(refused(), [], 'a save without `landed` (everything landed) ends them, as before');
      stack.store.deals.saveLinks(
        [{ ...link, refused: [{ field: 'doctor', detail: 'InvalidType' }] }],
        new Date(clock.now()),
      );
      stack.store.deals.saveLinks([{ ...link, state: 'arrived', landed: [] }], new Date(clock.now() + HOUR));
      assert.deepEqual(refused(), ['doctor']);
      stack.store.deals.saveLinks([{ ...link, landed: [] }], new Date(clock.now()));

      // The admin fixes the field. Twelve hours on: not tried again yet.
      emulator.deals.fields.get(doctorId)!.type = 'text';
      clock.advance(12 * HOUR);
      let writes = emulator.writeRequests().length;
      await stack.both('deep');
      assert.equal(emulator.writeRequests().length, writes, 'not tried twice within a day');
      assert.deepEqual(refused(), ['doctor']);

      clock.advance(12 * HOUR);
      const deep = await stack.both('deep');
      assert.equal(deep.outcome, 'ok', deep.error?.message);
      assert.equal(deep.repaired, 1);
      assert.deepEqual(refused(), [], 'the refusal ended when the value landed');
      const lead = emulator.deals.leads.get(link.leadId)!;
      assert.deepEqual(
        lead.custom_fields_values
          ?.find((field) => field.field_id === doctorId)
          ?.values.map((value) => value.value),
        ['Зубов Пётр Ильич'],
      );

      clock.advance(12 * HOUR);
      writes = emulator.writeRequests().length;
      await stack.both('deep');
      assert.equal(emulator.writeRequests().length, writes, 'in step: nothing written');
    } finally {
      await emulator.stop();
    }
  });
});
