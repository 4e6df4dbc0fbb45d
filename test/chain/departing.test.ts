import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';
import { chainStack, contactsOf, emulatorOn, MemorySource, person } from './helpers.ts';

const PHONE = '+7 912 345 67 89';
const anna = (id: number, extra: Record<string, unknown> = {}) =>
  person(id, {
    Surname: 'Петрова',
    Name: 'Анна',
    Patronymic: 'Ивановна',
    MobilePhone: PHONE,
    BirthDate: new Date(Date.UTC(1980, 1, 2)),
    Sex: 2,
    ...extra,
  });

const summary = (emulator: Parameters<typeof contactsOf>[0], stack: Parameters<typeof contactsOf>[1]) =>
  contactsOf(emulator, stack)
    .map((contact) => contact.ids.join('+'))
    .sort();

describe('a clinic chain: a joined patient put right to another person', () => {
  it('three clinics; the anchor (smallest id) is put right to another person: the other two stay one contact', async () => {
    const emulator = await emulatorOn(47810);
    try {
      const center = new MemorySource([anna(1)]);
      const north = new MemorySource([anna(5)]);
      const south = new MemorySource([anna(9)]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
        { key: 'south', source: south },
      ]);
      await stack.run({ kind: 'incremental' });
      assert.deepEqual(summary(emulator, stack), ['center:1+north:5+south:9']);
      // The centre's registrar finds its Анна was another Анна (another birth date).
      center.tick(60_000);
      center.touch(1, { BirthDate: new Date(Date.UTC(1991, 6, 7)) });
      stack.clock.advance(60_000);
      const result = await stack.run({ kind: 'incremental' });
      console.log('anchor put right:', result.outcome, JSON.stringify(contactsOf(emulator, stack)));
      await stack.run({ kind: 'incremental' });
      const after = summary(emulator, stack);
      console.log('after a second run:', JSON.stringify(after));
      assert.equal(after.length, 2, 'two people, two contacts');
      assert.ok(after.includes('center:1'), 'the centre patient alone');
      assert.ok(after.includes('north:5+south:9'), 'north and south are still one person: one contact');
    } finally {
      await emulator.stop();
    }
  });

  it('two patients put right to two other people at once: three contacts, each with one patient', async () => {
    const emulator = await emulatorOn(47812);
    try {
      const center = new MemorySource([anna(1)]);
      const north = new MemorySource([anna(5)]);
      const south = new MemorySource([anna(9)]);
      const stack = await chainStack(emulator, [
        { key: 'center', source: center },
        { key: 'north', source: north },
        { key: 'south', source: south },
      ]);
      await stack.run({ kind: 'incremental' });
      north.tick(60_000);
      north.touch(5, { BirthDate: new Date(Date.UTC(1991, 6, 7)) });
      south.tick(60_000);
      south.touch(9, { BirthDate: new Date(Date.UTC(1993, 3, 4)) });
      stack.clock.advance(60_000);
      await stack.run({ kind: 'incremental' });
      await stack.run({ kind: 'incremental' });
      const after = summary(emulator, stack);
      console.log('two leave:', JSON.stringify(contactsOf(emulator, stack)));
      assert.deepEqual(after, ['center:1', 'north:5', 'south:9']);
      const before = emulator.requests.filter((request) => request.write).length;
      await stack.run({ kind: 'deep' });
      assert.equal(
        emulator.requests.filter((request) => request.write).length - before,
        0,
        'settled: deep writes 0',
      );
    } finally {
      await emulator.stop();
    }
  });

  for (const applied of [true, false])
    it(`the leaver's create ${applied ? 'applied, answer lost' : 'lost'}, and the run dies before the old contact is rewritten`, async () => {
      const emulator = await emulatorOn(applied ? 47814 : 47816);
      try {
        const center = new MemorySource([anna(1)]);
        const north = new MemorySource([anna(5)]);
        const stack = await chainStack(emulator, [
          { key: 'center', source: center },
          { key: 'north', source: north },
        ]);
        await stack.run({ kind: 'incremental' });
        assert.deepEqual(summary(emulator, stack), ['center:1+north:5']);
        north.tick(60_000);
        north.touch(5, { BirthDate: new Date(Date.UTC(1991, 6, 7)) });
        stack.clock.advance(60_000);
        emulator.scriptFault({ method: 'POST', status: 502, applied });
        for (let i = 0; i < 20; i += 1)
          emulator.scriptFault({ method: 'PATCH', status: 502, applied: false });
        const dying = await stack.run({ kind: 'incremental' });
        console.log(
          'dying run:',
          dying.outcome,
          dying.error?.message,
          JSON.stringify(contactsOf(emulator, stack)),
        );
        emulator.setFaults({});
        // clear scripted PATCH faults left over
        (emulator as unknown as { scripted: unknown[] }).scripted.length = 0;
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        for (let i = 0; i < 3; i += 1) {
          const next = await stack.run({ kind: 'incremental' });
          console.log(
            'next run:',
            next.outcome,
            next.error?.message,
            JSON.stringify(contactsOf(emulator, stack)),
          );
        }
        await stack.run({ kind: 'deep' });
        const after = summary(emulator, stack);
        console.log(
          'end:',
          JSON.stringify(contactsOf(emulator, stack)),
          JSON.stringify(stack.store.links(['center:1', 'north:5'])),
        );
        assert.deepEqual(after, ['center:1', 'north:5'], 'two contacts, one patient each, no duplicate');
      } finally {
        await emulator.stop();
      }
    });
});
