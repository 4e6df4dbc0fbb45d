import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { longLivedClient, startEmulator } from '../helpers/amocrm.ts';
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

  it('hole 9: a contact deleted during the first full listing hides no manager\u2019s contact from the mirror', async () => {
    const emulator = await startEmulator();
    try {
      // 260 contacts a manager typed before the first run; the 251st shares the patient's phone.
      const seeded = Array.from({ length: 260 }, (_, index) =>
        index === 250
          ? emulator.seedContact({
              name: 'Иванова Мария',
              first_name: 'Мария',
              last_name: 'Иванова',
              custom_fields_values: [{ field_code: 'PHONE', values: [{ value: PHONE, enum_code: 'MOB' }] }],
            })
          : emulator.seedContact({ name: `Контакт ${index}` }),
      );
      const manager = seeded[250]!;
      // Typed a while ago: not among the newest 250, which the listing reads first for its watermark.
      manager.updated_at -= 3600;
      let deleted = false;
      emulator.onList = (entity, url) => {
        // Between the first and the next page of the listing by id, a manager deletes an early contact.
        if (entity !== 'contacts' || url.searchParams.get('order[id]') !== 'asc') return;
        if (url.searchParams.get('page') !== '1' && !deleted)
          deleted = emulator.deleteContact(seeded[10]!.id);
      };
      const source = new MemorySource([
        {
          ...syntheticPatients(1, 5000)[0]!,
          Name: 'Мария',
          Surname: 'Иванова',
          Patronymic: null,
          MobilePhone: PHONE,
        },
      ]);
      const stack = await syncStack(emulator, source);
      const run = await stack.run();
      assert.equal(run.outcome, 'ok', run.error?.message);
      assert.ok(deleted, 'the contact was deleted during the listing');
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
    } finally {
      await emulator.stop();
    }
  });

  it('hole 9: a complete listing yields every contact once, whatever is deleted between its windows', async () => {
    const emulator = await startEmulator();
    try {
      const seeded = Array.from({ length: 700 }, (_, index) => emulator.seedContact({ name: `C${index}` }));
      const client = longLivedClient(emulator);
      // Before each window after the first, delete 1–30 contacts among those already read, at the
      // window's edge and beyond (seeded, so the same on every run).
      let step = 0;
      const gone = new Set<number>();
      emulator.onList = (_entity, url) => {
        if (url.searchParams.get('page') === '1' && url.searchParams.get('limit') === '250') return;
        step += 1;
        const offset = (Number(url.searchParams.get('page')) - 1) * Number(url.searchParams.get('limit'));
        const ids = [...emulator.contacts.keys()];
        const count = 1 + ((step * 17) % 30);
        for (let index = 0; index < count; index++) {
          const victim = ids[Math.max(0, offset - 1 - ((index * 7 + step) % 300))];
          if (victim !== undefined && victim !== ids.at(-1) && emulator.deleteContact(victim))
            gone.add(victim);
        }
      };
      const listed: number[] = [];
      for await (const page of client.contacts.everyEntity())
        listed.push(...page.map((contact) => contact.id));
      emulator.onList = undefined;
      assert.ok(gone.size > 10, `only ${gone.size} deleted`);
      assert.equal(new Set(listed).size, listed.length, 'each contact once');
      const missed = seeded.filter((contact) => !gone.has(contact.id) && !listed.includes(contact.id));
      assert.deepEqual(
        missed.map((contact) => contact.id),
        [],
        'contacts that existed throughout were not listed',
      );
    } finally {
      await emulator.stop();
    }
  });
});
