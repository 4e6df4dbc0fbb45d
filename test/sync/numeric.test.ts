import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toCreatePayload, toUpdatePayload, type ContactDocument } from '../../src/mapping/mapper.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { assertConverged, syncStack } from '../helpers/sync-stack.ts';

/** Issue 18, hole 11: numeric field values go as strings ("1.5"), as amoCRM documents and reads them. */
describe('hole 11: numeric values', () => {
  it('are sent as strings in creates and updates', () => {
    const document: ContactDocument = {
      name: 'A',
      first_name: '',
      last_name: '',
      phones: [],
      emails: [],
      fields: [
        { field_id: 1, key: 'sum', value: 1.5 },
        { field_id: 2, key: 'count', value: 12 },
        { field_id: 3, key: 'text', value: 'x' },
        { field_id: 4, key: 'flag', value: true },
      ],
    };
    const sent = (payload: { custom_fields_values?: { values: { value?: unknown }[] | null }[] }) =>
      payload.custom_fields_values!.map((field) => field.values?.[0]?.value);
    assert.deepEqual(sent(toCreatePayload(document)), ['1.5', '12', 'x', true]);
    assert.deepEqual(sent(toUpdatePayload(document, 7)), ['1.5', '12', 'x', true]);
  });

  it('a noop deep sync writes nothing, whether amoCRM holds "1.5" or 1.5', async () => {
    const emulator = await startEmulator();
    try {
      const rows = syntheticPatients(30, 1).map((row, index) => ({
        ...row,
        VisitSum: 1234.5 + index,
        DiscountPercent: 1.5,
        Debt: 2500.25,
      }));
      const source = new MemorySource(rows);
      const stack = await syncStack(emulator, source);
      assert.equal((await stack.run()).outcome, 'ok');
      assert.ok(emulator.numericSent.strings > 0);
      assert.equal(emulator.numericSent.numbers, 0, 'numeric values were sent as numbers');
      // Some accounts (or a manager's import) may hold the number itself: the same value still.
      let turned = 0;
      for (const contact of emulator.contacts.values()) {
        for (const field of contact.custom_fields_values ?? []) {
          if (field.field_type !== 'numeric' || turned % 2 === 1) continue;
          for (const value of field.values) value.value = Number(value.value);
        }
        turned += 1;
      }
      const writes = emulator.writeRequests().length;
      const deep = await stack.run({ kind: 'deep' });
      assert.equal(deep.outcome, 'ok');
      assert.equal(emulator.writeRequests().length - writes, 0, 'a noop deep sync wrote');
      await assertConverged(emulator, source, stack);
    } finally {
      await emulator.stop();
    }
  });
});
