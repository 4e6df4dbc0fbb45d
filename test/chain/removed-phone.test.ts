import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainStack, contactsOf, emulatorOn, MemorySource, person, T0 } from './helpers.ts';

const X = '+7 912 345 67 89';
const Y = '+7 343 222 33 44';
const BORN = new Date(Date.UTC(1980, 1, 2));
const anna = (id: number, extra: Record<string, unknown> = {}) =>
  person(id, {
    Surname: 'Петрова',
    Name: 'Анна',
    Patronymic: 'Ивановна',
    MobilePhone: X,
    BirthDate: BORN,
    Sex: 2,
    ...extra,
  });

describe('a clinic chain: a phone IDENT removed from a shared person leaves the contact', () => {
  for (const [label, removedIn, northLater, northHasY] of [
    ['center removes Y, north never had it, north changed last before', 'center', true, false],
    ['center removes Y, north never had it, center changed last before', 'center', false, false],
    ['both had Y, both remove it (center first)', 'both', true, true],
    ['north removes Y, center never had it', 'north', false, false],
  ] as const)
    it(label, async () => {
      const emulator = await emulatorOn(47593);
      try {
        const center = new MemorySource(
          [anna(1, { Phone: removedIn === 'north' ? null : Y })],
          new Date(T0.getTime() + (northLater ? 0 : 5000)),
        );
        const north = new MemorySource(
          [anna(5, { Phone: removedIn === 'north' || northHasY ? Y : null })],
          new Date(T0.getTime() + (northLater ? 5000 : 0)),
        );
        center.touch(1, {});
        north.touch(5, {});
        const stack = await chainStack(emulator, [
          { key: 'center', source: center },
          { key: 'north', source: north },
        ]);
        await stack.run({ kind: 'incremental' });
        await stack.run({ kind: 'deep' });
        console.log(label, 'joined:', JSON.stringify(contactsOf(emulator, stack)));
        if (removedIn !== 'north') {
          center.clock = new Date(T0.getTime() + 60_000);
          center.touch(1, { Phone: null });
          await stack.run({ kind: 'incremental' });
        }
        if (removedIn !== 'center') {
          north.clock = new Date(T0.getTime() + 90_000);
          north.touch(5, { Phone: null });
          await stack.run({ kind: 'incremental' });
        }
        await stack.run({ kind: 'deep' });
        await stack.run({ kind: 'deep' });
        const contacts = contactsOf(emulator, stack);
        console.log('  end:', JSON.stringify(contacts));
        assert.equal(contacts.length, 1);
        assert.deepEqual(
          contacts[0]!.phones,
          ['+79123456789'],
          'Y, removed from IDENT everywhere, leaves the contact',
        );
      } finally {
        await emulator.stop();
      }
    });
});
