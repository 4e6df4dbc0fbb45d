import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownershipProblem } from '../../src/sources/ownership-check.ts';
import { chainStack, contactsOf, emulatorOn, MemorySource, person, T0 } from './helpers.ts';

const SURNAMES = [
  'Петрова',
  'Смирнова',
  'Кузнецова',
  'Попова',
  'Васильева',
  'Соколова',
  'Михайлова',
  'Новикова',
  'Фёдорова',
  'Морозова',
  'Волкова',
  'Алексеева',
];
const phoneOf = (n: number) =>
  `+7 912 000 ${String(10 + n).padStart(2, '0')} ${String(10 + n).padStart(2, '0')}`;
const woman = (id: number, n: number, extra: Record<string, unknown> = {}, at = T0) =>
  person(
    id,
    {
      Surname: SURNAMES[n],
      Name: 'Анна',
      Patronymic: 'Ивановна',
      MobilePhone: phoneOf(n),
      BirthDate: new Date(Date.UTC(1980, 1, 2 + n)),
      Sex: 2,
      ...extra,
    },
    at,
  );

describe('a clinic chain: latest per value and the start checks', () => {
  it('start check: a healthy chain is refused after the other clinic gave 9 shared patients new numbers', async () => {
    const emulator = await emulatorOn(47800);
    try {
      const center = new MemorySource(SURNAMES.map((_, n) => woman(1 + n, n)));
      const north = new MemorySource(SURNAMES.map((_, n) => woman(101 + n, n)));
      north.clock = new Date(T0.getTime() + 1000);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      assert.equal((await stack.run({ kind: 'incremental' })).outcome, 'ok');
      assert.equal(contactsOf(emulator, stack).length, 12, 'one contact per person');
      // The people told the north clinic their new numbers; the centre still has the old ones.
      north.tick(60_000);
      for (let n = 0; n < 9; n += 1) north.touch(101 + n, { MobilePhone: `+7 999 100 20 ${10 + n}` });
      assert.equal((await stack.run({ kind: 'incremental' })).outcome, 'ok');
      console.log('center links now:', JSON.stringify(stack.store.recentLinksOf('center', 12)));
      // The daemon restarts: the start's ownership check, with the same databases as before.
      const problem = await ownershipProblem(
        [
          { key: 'center', bare: false },
          { key: 'north', bare: false },
        ],
        (key, limit) => stack.store.recentLinksOf(key, limit),
        stack.chain,
        stack.mapper,
      );
      assert.equal(problem, undefined, `the same databases must not be refused: ${problem}`);
    } finally {
      await emulator.stop();
    }
  });

  it('latest: both clinics change the surname between two runs — the later IDENT change must win', async () => {
    const emulator = await emulatorOn(47802);
    try {
      const center = new MemorySource([woman(1, 0)]);
      const north = new MemorySource([woman(5, 0)]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      assert.equal(contactsOf(emulator, stack).length, 1);
      stack.clock.advance(3_600_000);
      // 10:00 the centre types one surname; 10:30 the north clinic puts it right (the daemon was down).
      center.tick(3_600_000);
      center.touch(1, { Surname: 'Иванова' });
      north.tick(3_600_000 + 1_800_000);
      north.touch(5, { Surname: 'Сидорова' });
      stack.clock.advance(3_600_000);
      await stack.run({ kind: 'incremental' });
      const [contact] = contactsOf(emulator, stack);
      console.log('both changed:', JSON.stringify(contact));
      assert.equal(contact!.last, 'Сидорова', "north's change (30 min later in IDENT) is the latest");
    } finally {
      await emulator.stop();
    }
  });

  it('latest: the sync clock stepped forward then back — the other clinic can no longer change the name', async () => {
    const emulator = await emulatorOn(47804);
    try {
      const center = new MemorySource([woman(1, 0)]);
      const north = new MemorySource([woman(5, 0)]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      // The machine's clock runs a day ahead for one run (a bad RTC, NTP not yet synced) ...
      stack.clock.stepWall(86_400_000);
      center.tick(60_000);
      center.touch(1, { Surname: 'Иванова' });
      await stack.run({ kind: 'incremental' });
      assert.equal(contactsOf(emulator, stack)[0]!.last, 'Иванова');
      // ... then NTP puts it right. An hour later the north clinic changes the surname.
      stack.clock.stepWall(-86_400_000);
      stack.clock.advance(3_600_000);
      north.tick(3_600_000);
      north.touch(5, { Surname: 'Сидорова' });
      await stack.run({ kind: 'incremental' });
      const [contact] = contactsOf(emulator, stack);
      console.log('after clock step back:', JSON.stringify(contact));
      assert.equal(contact!.last, 'Сидорова', "north's surname is the latest change");
    } finally {
      await emulator.stop();
    }
  });
  it('latest (control, holds): without a clock step the other clinic’s later surname wins', async () => {
    const emulator = await emulatorOn(47806);
    try {
      const center = new MemorySource([woman(1, 0)]);
      const north = new MemorySource([woman(5, 0)]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
      await stack.run({ kind: 'incremental' });
      // The machine's clock runs a day ahead for one run (a bad RTC, NTP not yet synced) ...

      center.tick(60_000);
      center.touch(1, { Surname: 'Иванова' });
      await stack.run({ kind: 'incremental' });
      assert.equal(contactsOf(emulator, stack)[0]!.last, 'Иванова');
      // ... then NTP puts it right. An hour later the north clinic changes the surname.

      stack.clock.advance(3_600_000);
      north.tick(3_600_000);
      north.touch(5, { Surname: 'Сидорова' });
      await stack.run({ kind: 'incremental' });
      const [contact] = contactsOf(emulator, stack);
      console.log('after clock step back:', JSON.stringify(contact));
      assert.equal(contact!.last, 'Сидорова', "north's surname is the latest change");
    } finally {
      await emulator.stop();
    }
  });
});
