import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mergeMultitext } from '../../src/streams/contacts/multitext.ts';
import type { AmoCrmEmulator, Strictness } from '../../src/emulator/server.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { assertConverged, syncStack } from '../helpers/sync-stack.ts';

const values = (emulator: AmoCrmEmulator, contactId: number, code: 'PHONE' | 'EMAIL') =>
  (emulator.contacts.get(contactId)!.custom_fields_values ?? [])
    .find((field) => field.field_code === code)
    ?.values.map((value) => String(value.value)) ?? [];

describe('PHONE and EMAIL: the sync owns only the values it wrote', () => {
  it('merges by normalised number, keeps what a manager typed, removes only its own values', () => {
    const held = [
      { value: '8 (916) 123-45-67', enum_code: 'MOB' },
      { value: '+7 495 111-22-33', enum_code: 'WORK' },
      { value: '+79170000001', enum_code: 'MOB' },
    ];
    const merge = mergeMultitext(
      'phone',
      held,
      [
        { value: '+79161234567', enum_code: 'MOB' },
        { value: '+79990000000', enum_code: 'MOB' },
      ],
      ['+79170000001'],
    );
    assert.deepEqual(
      merge.values.map((value) => value.value),
      ['8 (916) 123-45-67', '+7 495 111-22-33', '+79990000000'],
    );
    assert.equal(merge.changed, true);
    // 916 was there before the sync: it stays the manager's; 999 the sync added.
    assert.deepEqual(merge.owned, ['+79990000000']);
    assert.equal(
      mergeMultitext('phone', held.slice(0, 2), [{ value: '+79161234567', enum_code: 'MOB' }], []).changed,
      false,
    );
    const last = mergeMultitext('email', [{ value: 'a@b.ru' }], [], ['a@b.ru']);
    assert.equal(last.clears, true, 'the last value, the sync own, is cleared');
    assert.deepEqual(last.owned, []);
    const managers = mergeMultitext('email', [{ value: 'a@b.ru' }, { value: 'm@b.ru' }], [], ['a@b.ru']);
    assert.equal(managers.clears, false, "a manager's value keeps the list");
    assert.deepEqual(
      managers.values.map((value) => value.value),
      ['m@b.ru'],
    );
  });

  describe('against the emulator', () => {
    let emulator: AmoCrmEmulator;
    before(async () => {
      emulator = await startEmulator();
    });
    after(async () => {
      await emulator.stop();
    });

    it("links a manager's lead by phone and updates it twice: the manager's extra number and e-mail survive both", async () => {
      const patient = {
        ...syntheticPatient(9301, T0),
        Surname: 'Иванова',
        Name: 'Мария',
        MobilePhone: '8 916 123 45 67',
        Phone: null,
        Email: 'maria@example.ru',
      };
      const source = new MemorySource([patient]);
      const stack = await syncStack(emulator, source);
      const lead = emulator.seedContact({
        name: 'Мария',
        custom_fields_values: [
          {
            field_code: 'PHONE',
            values: [
              { value: '8 (916) 123-45-67', enum_code: 'MOB' },
              { value: '+7 495 111-22-33', enum_code: 'WORK' },
            ],
          },
          { field_code: 'EMAIL', values: [{ value: 'maria.work@example.com', enum_code: 'WORK' }] },
        ],
      });

      const linked = await stack.run();
      assert.equal(linked.linked, 1);
      assert.equal(stack.store.link('9301')!.contactId, lead.id);
      assert.deepEqual(values(emulator, lead.id, 'PHONE'), ['8 (916) 123-45-67', '+7 495 111-22-33']);
      assert.deepEqual(values(emulator, lead.id, 'EMAIL'), ['maria.work@example.com', 'maria@example.ru']);

      // 1. A new mobile number and another city in IDENT.
      source.touch(9301, { MobilePhone: '+7 917 000-00-01', City: 'Пермь' });
      assert.equal((await stack.run()).updated, 1);
      assert.deepEqual(values(emulator, lead.id, 'PHONE'), [
        '8 (916) 123-45-67',
        '+7 495 111-22-33',
        '+79170000001',
      ]);
      assert.deepEqual(values(emulator, lead.id, 'EMAIL'), ['maria.work@example.com', 'maria@example.ru']);

      // 2. IDENT drops the number the sync wrote and changes the e-mail it wrote.
      source.touch(9301, { MobilePhone: null, Email: 'maria@new.ru' });
      assert.equal((await stack.run()).updated, 1);
      assert.deepEqual(values(emulator, lead.id, 'PHONE'), ['8 (916) 123-45-67', '+7 495 111-22-33']);
      assert.deepEqual(values(emulator, lead.id, 'EMAIL'), ['maria.work@example.com', 'maria@new.ru']);

      assert.deepEqual(emulator.breaches, [], 'never a PHONE/EMAIL null, never a negative date');
      await assertConverged(emulator, source, stack);
    });

    it('a PHONE amoCRM refuses: the contact is written without it, the sync owns no number, and it is sent again when IDENT changes', async () => {
      const source = new MemorySource([
        { ...syntheticPatient(9331, T0), MobilePhone: '89160000031', Phone: null },
      ]);
      const stack = await syncStack(emulator, source);
      const mapper = stack.mapper;
      stack.mapper = ((row) => {
        const outcome = mapper(row);
        // A value amoCRM refuses: an enum its PHONE field does not have.
        if (outcome.ok) outcome.contact.document.phones = [{ value: '+79160000031', enum_code: 'BOGUS' }];
        return outcome;
      }) as typeof mapper;
      const first = await stack.run();
      assert.equal(first.created, 1);
      const contactId = stack.store.link('9331')!.contactId;
      assert.deepEqual(values(emulator, contactId, 'PHONE'), []);
      assert.deepEqual(stack.store.link('9331')!.ownedPhones, []);
      assert.deepEqual(
        stack.store
          .fieldRefusals()
          .filter((refusal) => refusal.patientId === '9331')
          .map((refusal) => refusal.field),
        ['PHONE'],
      );
      const writes = emulator.writeRequests().length;
      const deep = await stack.run({ kind: 'deep' });
      assert.equal(
        emulator.writeRequests().length,
        writes,
        `not resent while IDENT is unchanged: ${JSON.stringify({ ...deep, patient: undefined })}`,
      );
      stack.mapper = mapper;
      source.touch(9331, { MobilePhone: '89160000032' });
      await stack.run();
      assert.deepEqual(values(emulator, contactId, 'PHONE'), ['+79160000032']);
      assert.deepEqual(stack.store.link('9331')!.ownedPhones, ['+79160000032']);
    });

    it('changes of other fields send no PHONE or EMAIL and read nothing first', async () => {
      const source = new MemorySource([{ ...syntheticPatient(9311, T0), MobilePhone: '89160000011' }]);
      const stack = await syncStack(emulator, source);
      await stack.run();
      const before = emulator.requests.length;
      source.touch(9311, { City: 'Тверь' });
      await stack.run();
      const sent = emulator.requests.slice(before).filter((request) => request.path === '/api/v4/contacts');
      assert.deepEqual(
        sent.map((request) => request.method),
        ['GET', 'PATCH'],
        'the mirror refresh and the update: no read of the contact',
      );
    });

    it('a deep sync puts back a phone of IDENT a manager deleted, and keeps the one they added', async () => {
      const source = new MemorySource([
        { ...syntheticPatient(9321, T0), MobilePhone: '89160000021', Phone: null },
      ]);
      const stack = await syncStack(emulator, source);
      await stack.run();
      const contactId = stack.store.link('9321')!.contactId;
      emulator.editContact(contactId, (contact) => {
        const phone = contact.custom_fields_values!.find((field) => field.field_code === 'PHONE')!;
        phone.values = [{ value: '+7 343 000-00-00', enum_code: 'WORK' }];
      });
      const deep = await stack.run({ kind: 'deep' });
      assert.equal(deep.repaired, 1);
      assert.deepEqual(values(emulator, contactId, 'PHONE'), ['+7 343 000-00-00', '+79160000021']);
      const again = await stack.run({ kind: 'deep' });
      assert.equal(again.repaired, 0, 'repaired once, then in step');
    });
  });

  // How amoCRM clears a multitext is undocumented: the official library clears with `values: null`;
  // `[]` may be the form an account takes instead. Each switch answers one way; both must converge.
  for (const form of ['null', 'empty-list'] as const satisfies Strictness['multitextClear'][]) {
    it(`H5: a patient's only phone and e-mail, removed in IDENT, are cleared in amoCRM (the sync owned them; amoCRM clears with ${form})`, async () => {
      const emulator = await startEmulator({ strict: { multitextClear: form } });
      try {
        const source = new MemorySource([
          {
            ...syntheticPatient(9401, T0),
            MobilePhone: '89160000401',
            Phone: null,
            Email: 'p401@example.ru',
          },
          { ...syntheticPatient(9402, T0), MobilePhone: '89160000402', Phone: null, Email: null },
        ]);
        const stack = await syncStack(emulator, source);
        await stack.run();
        const first = stack.store.link('9401')!.contactId;
        const second = stack.store.link('9402')!.contactId;
        assert.deepEqual(values(emulator, first, 'PHONE'), ['+79160000401']);

        source.touch(9401, { MobilePhone: null, Email: null });
        const cleared = await stack.run();
        assert.equal(cleared.outcome, 'ok', cleared.error?.message);
        assert.equal(cleared.updated, 1);
        assert.equal(cleared.failed, 0);
        assert.deepEqual(values(emulator, first, 'PHONE'), [], 'the phone IDENT removed is gone');
        assert.deepEqual(values(emulator, first, 'EMAIL'), [], 'the e-mail IDENT removed is gone');
        assert.deepEqual(stack.store.link('9401')!.ownedPhones, []);
        assert.equal(stack.store.fieldRefusalCount(), 0, 'a spelling amoCRM refused is no refused value');

        // The account's answer is kept: the next clear is sent in the form it takes, at once.
        const writes = emulator.writeRequests().length;
        source.touch(9402, { MobilePhone: null });
        await stack.run();
        assert.deepEqual(values(emulator, second, 'PHONE'), []);
        assert.equal(emulator.writeRequests().length, writes + 1, 'one PATCH, nothing refused');

        const deep = await stack.run({ kind: 'deep' });
        assert.equal(deep.updated + deep.repaired + deep.created, 0, 'a deep sync afterwards writes nothing');
        await assertConverged(emulator, source, stack);
      } finally {
        await emulator.stop();
      }
    });
  }

  it("H5: a phone a manager added stays when IDENT removes the patient's only phone; the sync's goes", async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource([
        { ...syntheticPatient(9411, T0), MobilePhone: '89160000411', Phone: null, Email: null },
      ]);
      const stack = await syncStack(emulator, source);
      await stack.run();
      const contactId = stack.store.link('9411')!.contactId;
      emulator.editContact(contactId, (contact) => {
        contact
          .custom_fields_values!.find((field) => field.field_code === 'PHONE')!
          .values.push({
            value: '+7 343 000-04-11',
            enum_code: 'WORK',
          });
      });
      source.touch(9411, { MobilePhone: null });
      assert.equal((await stack.run()).updated, 1);
      assert.deepEqual(values(emulator, contactId, 'PHONE'), ['+7 343 000-04-11']);
      assert.deepEqual(emulator.breaches, [], "a manager's number is never cleared");
      await assertConverged(emulator, source, stack);
    } finally {
      await emulator.stop();
    }
  });
});
