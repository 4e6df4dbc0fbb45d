import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentFromContact } from '../../src/mapping/compare.ts';
import { BAD_ROWS } from '../corpus/bad-rows.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';
import { fullRow } from '../fixtures/patient-rows.ts';
import { identFieldId } from '../../src/mapping/catalogue.ts';

describe('the bad-input corpus', () => {
  it(`has at least 50 rows covering every field`, () => {
    assert.ok(BAD_ROWS.length >= 50, `${BAD_ROWS.length} rows`);
    const touched = new Set(BAD_ROWS.flatMap((row) => Object.keys(row.changes)));
    for (const column of Object.keys(fullRow)) assert.ok(touched.has(column), `no bad value for ${column}`);
  });

  it('every row is synced with its defined value or recorded with a reason; none stops the run; the rest of the batch is synced', async () => {
    const emulator = await startEmulator();
    try {
      const rows: Record<string, unknown>[] = [];
      BAD_ROWS.forEach((bad, index) => {
        rows.push({
          ...syntheticPatient(70_000 + index * 2, T0),
          ...fullRow,
          PatientId: 70_000 + index * 2,
          ChangedAt: T0,
          ...bad.changes,
        });
        rows.push(syntheticPatient(70_001 + index * 2, T0));
      });
      const source = new MemorySource([]);
      for (const row of rows) source.rows.set(`${String(row.PatientId)}#${source.rows.size}`, row as never);
      const stack = await syncStack(emulator, source);
      const result = await stack.run();
      assert.equal(result.outcome, 'ok', result.error?.message);

      const identField = identFieldId(stack.resolved);
      const byIdent = new Map<
        string,
        (typeof emulator.contacts extends Map<number, infer C> ? C : never)[]
      >();
      for (const contact of emulator.contacts.values()) {
        const id = String(
          contact.custom_fields_values?.find((field) => field.field_id === identField)?.values[0]?.value,
        );
        byIdent.set(id, [...(byIdent.get(id) ?? []), contact]);
      }
      // Every good row, each next to a bad one in the same batches, is in amoCRM.
      for (let index = 0; index < BAD_ROWS.length; index++)
        assert.equal(byIdent.get(String(70_001 + index * 2))?.length, 1);

      const failures = stack.store.failures(1000);
      let expectedFailures = 0;
      BAD_ROWS.forEach((bad, index) => {
        if ('fails' in bad.expect) {
          // Rows without a usable id are counted as failed; they cannot be stored or fetched by id.
          expectedFailures += 1;
          assert.ok(bad.expect.fails.test('the row has no PatientId'), bad.name);
          return;
        }
        const patientId = String(bad.changes.PatientId ?? 70_000 + index * 2).replace(/^0+/, '');
        const [contact, extra] = byIdent.get(patientId) ?? [];
        assert.ok(
          contact && !extra,
          `${bad.name}: exactly one contact; failures: ${JSON.stringify(failures.filter((f) => f.patientId === patientId))}; ids: ${[...byIdent.keys()].filter((k) => k.includes('777')).join(',')}`,
        );
        const document = documentFromContact(
          JSON.parse(JSON.stringify(contact)),
          stack.resolved,
          'Europe/Moscow',
        );
        for (const [key, expected] of Object.entries(bad.expect.values)) {
          const want = typeof expected === 'string' ? expected.replace('{id}', patientId) : expected;
          let actual: unknown;
          if (key === 'name') actual = document.name;
          else if (key === 'PHONE') actual = document.phones.map((phone) => phone.value);
          else if (key === 'EMAIL') actual = document.emails.map((email) => email.value);
          else {
            const field = stack.resolved.fields.find((candidate) => candidate.spec.key === key)!;
            const stored = contact.custom_fields_values?.find((value) => value.field_id === field.fieldId)
              ?.values[0];
            actual =
              field.spec.type === 'select'
                ? (stored?.value ?? null)
                : document.fields.find((f) => f.key === key)!.value;
          }
          assert.deepEqual(actual, want, `${bad.name}: ${key}`);
        }
      });
      assert.equal(result.failed, expectedFailures);
      assert.equal(failures.length, 0);
    } finally {
      await emulator.stop();
    }
  });
});
