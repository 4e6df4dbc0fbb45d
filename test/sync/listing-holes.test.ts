import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';

const PHONE = '+79120000777';

/** Issue 18, holes 2 and 9: what the mirror's listings must not skip. */
describe('listings that skip nothing', () => {
  for (const skewMs of [60_000, -60_000]) {
    it(`hole 2: with amoCRM's Date header ${skewMs > 0 ? 'ahead' : 'behind'} by 60 s, a manager's contact is still seen by the next incremental refresh`, async () => {
      const emulator = await startEmulator({ strict: { dateSkewMs: skewMs } });
      try {
        const source = new MemorySource(syntheticPatients(300, 1));
        const stack = await syncStack(emulator, source);
        assert.equal((await stack.run()).outcome, 'ok');
        assert.equal((await stack.run()).outcome, 'ok', 'an incremental refresh sets the watermark');

        // A manager types a contact, then 300 others are edited after it (a bulk action): the
        // manager's is not on the first page of the newest-first listing.
        const manager = emulator.seedContact({
          name: 'Иванова Мария',
          first_name: 'Мария',
          last_name: 'Иванова',
          custom_fields_values: [{ field_code: 'PHONE', values: [{ value: PHONE, enum_code: 'MOB' }] }],
        });
        for (const contact of emulator.contacts.values()) {
          if (contact.id === manager.id) continue;
          emulator.editContact(contact.id, () => {});
          contact.updated_at = manager.updated_at + 1;
        }

        const patient = {
          ...syntheticPatients(1, 5000)[0]!,
          Name: 'Мария',
          Surname: 'Иванова',
          Patronymic: null,
          Phone: PHONE,
          MobilePhone: PHONE,
          ChangedAt: source.tick(60_000),
        };
        source.put(patient);
        const run = await stack.run();
        assert.equal(run.outcome, 'ok', run.error?.message);

        const withPhone = [...emulator.contacts.values()].filter((contact) =>
          contact.custom_fields_values?.some(
            (field) => field.field_code === 'PHONE' && field.values.some((value) => value.value === PHONE),
          ),
        );
        assert.deepEqual(
          withPhone.map((contact) => contact.id),
          [manager.id],
          'the patient took over the manager\u2019s contact instead of getting a second one',
        );
        const identField = identFieldId(stack.resolved);
        assert.equal(
          emulator.contacts
            .get(manager.id)!
            .custom_fields_values?.find((field) => field.field_id === identField)?.values[0]?.value,
          '5000',
        );
      } finally {
        await emulator.stop();
      }
    });
  }
});
