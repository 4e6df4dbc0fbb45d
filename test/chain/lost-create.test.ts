import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainStack, contactsOf, emulatorOn, MemorySource, person, writes } from './helpers.ts';

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

describe('a clinic chain: a shared person whose first create is lost', () => {
  for (const mode of ['lost, never applied', 'applied late', 'applied, answer lost'] as const)
    it(`center's create ${mode}; north's same person waits; one contact in the end`, async () => {
      const emulator = await emulatorOn(
        mode === 'lost, never applied' ? 47575 : mode === 'applied late' ? 47578 : 47581,
      );
      try {
        const center = new MemorySource([anna(1), person(2, { MobilePhone: '+7 900 000 00 02' })]);
        const north = new MemorySource([anna(5), person(6, { MobilePhone: '+7 900 000 00 06' })]);
        const stack = await chainStack(emulator, [
          { key: 'center', source: center },
          { key: 'north', source: north },
        ]);
        if (mode === 'lost, never applied')
          emulator.scriptFault({ method: 'POST', status: 502, applied: false });
        else if (mode === 'applied, answer lost')
          emulator.scriptFault({ method: 'POST', status: 502, applied: true });
        else
          emulator.scriptFault({
            method: 'POST',
            applyAfterMs: 60_000,
            drop: true,
            path: '/api/v4/contacts',
          });
        const first = await stack.run({ kind: 'incremental' }, { maxInFlight: 1 });
        console.log(mode, 'run 1:', first.outcome, {
          created: first.created,
          pending: first.pending,
          failed: first.failed,
        });
        console.log('  contacts', JSON.stringify(contactsOf(emulator, stack).map((c) => c.ids)));
        stack.clock.advance(10 * 60_000);
        if (mode === 'applied late') emulator.applyDelayedNow();
        for (const kind of ['incremental', 'incremental', 'deep', 'deep'] as const) {
          stack.clock.advance(10 * 60_000);
          const before = writes(emulator);
          const result = await stack.run({ kind });
          console.log(`  ${kind}:`, result.outcome, {
            created: result.created,
            linked: result.linked,
            updated: result.updated,
            pending: result.pending,
            writes: writes(emulator) - before,
          });
        }
        const contacts = contactsOf(emulator, stack);
        console.log('  end', JSON.stringify(contacts.map((c) => c.ids)));
        const annas = contacts.filter((c) => c.ids.includes('center:1') || c.ids.includes('north:5'));
        assert.equal(annas.length, 1, 'one contact for Анна');
        assert.deepEqual(annas[0]!.ids, ['center:1', 'north:5']);
      } finally {
        await emulator.stop();
      }
    });
});
