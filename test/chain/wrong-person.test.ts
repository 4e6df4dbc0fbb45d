import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainStack, contactsOf, emulatorOn, MemorySource, person, T0 } from './helpers.ts';

const PHONE = '+7 912 345 67 89';
const NO_DATE = new Date(Date.UTC(1900, 0, 1));

describe('a clinic chain: wrong-person merges in a chain', () => {
  it('father and son of the same name on one phone (patronymics differ, the son has no birth date) stay two contacts', async () => {
    const emulator = await emulatorOn(47500);
    try {
      const center = new MemorySource([
        person(1, {
          Surname: 'Иванов',
          Name: 'Сергей',
          Patronymic: 'Петрович',
          MobilePhone: PHONE,
          BirthDate: new Date(Date.UTC(1960, 4, 1)),
          Sex: 1,
        }),
      ]);
      const north = new MemorySource([
        person(1, {
          Surname: 'Иванов',
          Name: 'Сергей',
          Patronymic: 'Сергеевич',
          MobilePhone: PHONE,
          BirthDate: NO_DATE,
          Sex: 1,
        }),
      ]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      assert.equal((await stack.run({ kind: 'incremental' })).outcome, 'ok');
      const contacts = contactsOf(emulator, stack);
      console.log('father/son:', JSON.stringify(contacts));
      assert.equal(
        contacts.length,
        2,
        'Сергей Петрович (1960) and Сергей Сергеевич are two people: two contacts',
      );
    } finally {
      await emulator.stop();
    }
  });

  it('a joined patient whose record is corrected to another person leaves the contact', async () => {
    const emulator = await emulatorOn(47510);
    try {
      const center = new MemorySource([
        person(1, {
          Surname: 'Петрова',
          Name: 'Анна',
          Patronymic: 'Ивановна',
          MobilePhone: PHONE,
          BirthDate: new Date(Date.UTC(1980, 1, 2)),
          Sex: 2,
        }),
      ]);
      const north = new MemorySource([
        person(5, {
          Surname: 'Петрова',
          Name: 'Анна',
          Patronymic: 'Ивановна',
          MobilePhone: PHONE,
          BirthDate: new Date(Date.UTC(1980, 1, 2)),
          Sex: 2,
        }),
      ]);
      north.clock = new Date(T0.getTime() + 1000);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      assert.equal(contactsOf(emulator, stack).length, 1, 'joined first');
      // The north registrar had typed the wrong card: north:5 is really Олег Смирнов, another phone, another birth date.
      north.touch(5, {
        Surname: 'Смирнов',
        Name: 'Олег',
        Patronymic: 'Петрович',
        MobilePhone: '+7 999 000 11 22',
        BirthDate: new Date(Date.UTC(1975, 6, 7)),
        Sex: 1,
      });
      await stack.run({ kind: 'incremental' });
      await stack.run({ kind: 'deep' });
      const contacts = contactsOf(emulator, stack);
      console.log('after correction:', JSON.stringify(contacts));
      const shared = contacts.filter((contact) => contact.ids.length > 1);
      assert.deepEqual(shared, [], 'no contact carries Анна Петрова and Олег Смирнов together');
      const anna = contacts.find((contact) => contact.ids.includes('center:1'));
      assert.equal(anna?.first, 'Анна', "center's Анна keeps her own name on her contact");
    } finally {
      await emulator.stop();
    }
  });

  it("a shared person's newer phone in one clinic is not undone when the other clinic's row changes something else", async () => {
    const emulator = await emulatorOn(47520);
    try {
      const born = new Date(Date.UTC(1980, 1, 2));
      const center = new MemorySource([
        person(1, {
          Surname: 'Петрова',
          Name: 'Анна',
          Patronymic: 'Ивановна',
          MobilePhone: PHONE,
          BirthDate: born,
          Sex: 2,
        }),
      ]);
      const north = new MemorySource([
        person(5, {
          Surname: 'Петрова',
          Name: 'Анна',
          Patronymic: 'Ивановна',
          MobilePhone: PHONE,
          BirthDate: born,
          Sex: 2,
        }),
      ]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      assert.equal(contactsOf(emulator, stack).length, 1, 'joined first');
      // She marries: center records her new surname and new number.
      center.clock = new Date(T0.getTime() + 60_000);
      center.touch(1, { Surname: 'Соколова', MobilePhone: '+7 900 111 22 33' });
      await stack.run({ kind: 'incremental' });
      const afterMarriage = contactsOf(emulator, stack)[0]!;
      console.log('after marriage:', JSON.stringify(afterMarriage));
      // Later she visits north: north's row changes (a visit), nothing of the person.
      north.clock = new Date(T0.getTime() + 120_000);
      north.touch(5, { VisitCount: 9, VisitSum: 9000 });
      await stack.run({ kind: 'incremental' });
      const afterVisit = contactsOf(emulator, stack)[0]!;
      console.log('after north visit:', JSON.stringify(afterVisit));
      assert.equal(afterVisit.last, 'Соколова', "north's unrelated change undoes center's newer surname");
    } finally {
      await emulator.stop();
    }
  });
});
