import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startEmulator } from '../helpers/amocrm.ts';
import { chainStack, MemorySource, person } from './helpers.ts';

const PHONE = '+7 912 345 67 89';
const anna = (id: number) =>
  person(id, {
    Surname: 'Петрова',
    Name: 'Анна',
    Patronymic: 'Ивановна',
    MobilePhone: PHONE,
    BirthDate: new Date(Date.UTC(1980, 1, 2)),
  });

describe('a clinic chain: what the state keeps of a shared person', () => {
  it('ends with the patient: a shared patient gone from IDENT leaves no value times behind', async () => {
    const emulator = await startEmulator();
    try {
      const center = new MemorySource([anna(1)]);
      const north = new MemorySource([anna(5)]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      assert.ok(stack.store.chainValues('north:5').size > 0, 'a joined patient has its value times');
      north.remove(5);
      assert.equal((await stack.run({ kind: 'deep' })).outcome, 'ok');
      assert.equal(stack.store.chainValues('north:5').size, 0);
      assert.ok(stack.store.chainValues('center:1').size > 0, 'the patient still in IDENT keeps its own');
    } finally {
      await emulator.stop();
    }
  });
});
