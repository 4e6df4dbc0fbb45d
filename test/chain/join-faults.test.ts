import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { chainStack, contactsOf, emulatorOn, MemorySource, person, T0, writes } from './helpers.ts';

const PHONE = '+7 912 345 67 89';
const BORN = new Date(Date.UTC(1980, 1, 2));
const anna = (id: number, extra: Record<string, unknown> = {}) =>
  person(id, {
    Surname: 'Петрова',
    Name: 'Анна',
    Patronymic: 'Ивановна',
    MobilePhone: PHONE,
    BirthDate: BORN,
    Sex: 2,
    ...extra,
  });

describe('a clinic chain: faults and odd data around a join', () => {
  for (const applied of [true, false])
    it(`a join's PATCH answered 502 (${applied ? 'applied' : 'not applied'}): one contact, then a deep sync writes 0`, async () => {
      const emulator = await emulatorOn(applied ? 47550 : 47555);
      try {
        const center = new MemorySource([anna(1)]);
        const north = new MemorySource([]);
        const stack = await chainStack(emulator, [
          { key: 'center', source: center },
          { key: 'north', source: north },
        ]);
        await stack.run({ kind: 'incremental' });
        north.clock = new Date(T0.getTime() + 5000);
        north.put(anna(5, { ChangedAt: north.clock, CardNumber: 'N-5', VisitCount: 2 }));
        emulator.scriptFault({ method: 'PATCH', status: 502, applied });
        const joined = await stack.run({ kind: 'incremental' });
        console.log('join run:', joined.outcome, joined.failed, joined.linked, joined.updated);
        await stack.run({ kind: 'incremental' });
        await stack.run({ kind: 'deep' });
        const before = writes(emulator);
        await stack.run({ kind: 'deep' });
        const contacts = contactsOf(emulator, stack);
        console.log(JSON.stringify(contacts));
        assert.equal(contacts.length, 1);
        assert.deepEqual(contacts[0]!.ids, ['center:1', 'north:5']);
        assert.equal(writes(emulator) - before, 0);
      } finally {
        await emulator.stop();
      }
    });

  it('a shared patient deleted in one clinic: its id leaves the contact and a deep sync then writes 0', async () => {
    const emulator = await emulatorOn(47560);
    try {
      const center = new MemorySource([anna(1, { VisitCount: 3, VisitSum: 3000 })]);
      const north = new MemorySource([anna(5, { VisitCount: 2, VisitSum: 2000 })]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      await stack.run({ kind: 'deep' });
      north.remove(5);
      await stack.run({ kind: 'deep' });
      const before = writes(emulator);
      await stack.run({ kind: 'deep' });
      const contacts = contactsOf(emulator, stack);
      console.log('after delete:', JSON.stringify(contacts));
      assert.equal(writes(emulator) - before, 0, 'second deep sync writes 0');
      assert.deepEqual(contacts[0]!.ids, ['center:1'], 'the deleted patient leaves the id field');
    } finally {
      await emulator.stop();
    }
  });

  it("a manager types another clinic's id into a contact's IDENT id field: that new patient does not join on the id", async () => {
    const emulator = await emulatorOn(47565);
    try {
      const center = new MemorySource([anna(1)]);
      const north = new MemorySource([]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      const field = identFieldId(stack.resolved);
      const contact = [...emulator.contacts.values()][0]!;
      // The manager "links" by hand: a typo, north:3 meant north:5.
      const entry = contact.custom_fields_values!.find((value) => value.field_id === field)!;
      entry.values[0]!.value = 'center:1, north:3';
      // north:3 is another person: Олег, another phone.
      north.clock = new Date(T0.getTime() + 5000);
      north.put(
        person(3, {
          Surname: 'Смирнов',
          Name: 'Олег',
          MobilePhone: '+7 999 000 11 22',
          Sex: 1,
          ChangedAt: north.clock,
        }),
      );
      await stack.run({ kind: 'deep' });
      await stack.run({ kind: 'deep' });
      const contacts = contactsOf(emulator, stack);
      console.log('manager typed id:', JSON.stringify(contacts));
      const wrong = contacts.filter((c) => c.ids.includes('center:1') && c.ids.includes('north:3'));
      assert.deepEqual(wrong, [], "Олег (north:3) is put on Анна's contact by an id alone");
    } finally {
      await emulator.stop();
    }
  });

  it('the same phone typed three ways joins one person (8…, +7…, 10 digits)', async () => {
    const emulator = await emulatorOn(47570);
    try {
      const center = new MemorySource([anna(1, { MobilePhone: '8 (912) 345-67-89' })]);
      const north = new MemorySource([anna(5, { MobilePhone: '9123456789' })]);
      const south = new MemorySource([anna(7, { MobilePhone: '+7-912-345-6789' })]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
        { key: 'south', source: south },
      ]);
      await stack.run({ kind: 'incremental' });
      await stack.run({ kind: 'deep' });
      const before = writes(emulator);
      await stack.run({ kind: 'deep' });
      const contacts = contactsOf(emulator, stack);
      console.log('phones:', JSON.stringify(contacts));
      assert.equal(contacts.length, 1);
      assert.equal(writes(emulator) - before, 0);
    } finally {
      await emulator.stop();
    }
  });
});
