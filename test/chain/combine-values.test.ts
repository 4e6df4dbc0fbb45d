import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainStack, emulatorOn, MemorySource, person, T0, writes } from './helpers.ts';

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
    INN: null,
    Passport: null,
    Comment: null,
    Email: null,
    City: null,
    Address: null,
    BranchName: null,
    ...extra,
  });

describe('a clinic chain: combine with values only one clinic has', () => {
  it('fields only one clinic fills stay, whichever clinic changes; a second deep sync writes 0', async () => {
    const emulator = await emulatorOn(47585);
    try {
      const center = new MemorySource([
        anna(1, {
          INN: '660000000001',
          Comment: 'центр',
          Email: 'anna@center.ru',
          CardNumber: 'C-1',
          VisitCount: 1,
        }),
      ]);
      const north = new MemorySource([
        anna(5, { Passport: '6500 123456', City: 'Пермь', CardNumber: 'N-5', VisitCount: 2 }),
      ]);
      north.clock = new Date(T0.getTime() + 1000);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      await stack.run({ kind: 'deep' });
      let before = writes(emulator);
      await stack.run({ kind: 'deep' });
      assert.equal(writes(emulator) - before, 0, 'second deep writes 0');
      const fieldsOf = () => {
        const contact = [...emulator.contacts.values()][0]!;
        return Object.fromEntries(
          (contact.custom_fields_values ?? []).map((f) => [
            f.field_name ?? f.field_code ?? f.field_id,
            f.values.map((v) => v.value).join('|'),
          ]),
        );
      };
      const joined = fieldsOf();
      console.log(
        'joined:',
        JSON.stringify(joined),
        [...emulator.contacts.values()][0]!.custom_fields_values?.find((f) => f.field_code === 'EMAIL'),
      );
      // Only north changes (a visit), then only center (a visit): each clinic's run computes the contact.
      north.clock = new Date(T0.getTime() + 60_000);
      north.touch(5, { VisitCount: 3 });
      await stack.run({ kind: 'incremental' });
      const afterNorth = fieldsOf();
      center.clock = new Date(T0.getTime() + 120_000);
      center.touch(1, { VisitCount: 4 });
      await stack.run({ kind: 'incremental' });
      const afterCenter = fieldsOf();
      console.log('after north:', JSON.stringify(afterNorth));
      console.log('after center:', JSON.stringify(afterCenter));
      for (const [key, value] of Object.entries(joined))
        if (!/визит|изменения/i.test(key)) {
          assert.equal(afterNorth[key], value, `north's run keeps ${key}`);
          assert.equal(afterCenter[key], value, `center's run keeps ${key}`);
        }
      before = writes(emulator);
      await stack.run({ kind: 'deep' });
      await stack.run({ kind: 'deep' });
      assert.equal(writes(emulator) - before, 0, 'deep syncs after write 0');
    } finally {
      await emulator.stop();
    }
  });
});
