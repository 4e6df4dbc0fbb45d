import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { ChainPatientSource } from '../../src/sources/scoped-sources.ts';
import { idsInField } from '../../src/sources/source-key.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';

const PER_CLINIC = 30;
const SHARED = 5;

/**
 * Two clinics with overlapping ids (1..30 in each, different people) and five people who are
 * patients of both (same phone, name and birth date; other ids, their own visits). Each kept id
 * is mapped to the person it is.
 */
function chain() {
  const center = new MemorySource();
  const north = new MemorySource();
  const personOf = new Map<string, string>();
  for (let id = 1; id <= PER_CLINIC; id += 1) {
    center.rows.set(String(id), syntheticPatient(id, T0));
    personOf.set(`center:${id}`, `p${id}`);
    // Another person: own phones (the generator's second numbers repeat every thousand ids).
    north.rows.set(String(id), {
      ...syntheticPatient(1000 + id, T0),
      PatientId: id,
      MobilePhone: `+7 913 100 ${String(1000 + id).padStart(4, '0')}`,
      Phone: null,
    });
    personOf.set(`north:${id}`, `p${1000 + id}`);
  }
  for (let index = 1; index <= SHARED; index += 1) {
    const id = PER_CLINIC + index;
    const person = syntheticPatient(index, T0);
    north.rows.set(String(id), {
      ...person,
      PatientId: id,
      MobilePhone: person.MobilePhone ?? `+7 912 000 00 0${index}`,
      CardNumber: `N-${id}`,
      VisitCount: 3,
      VisitSum: 4500,
    });
    if (!person.MobilePhone)
      center.rows.set(String(index), { ...person, MobilePhone: `+7 912 000 00 0${index}` });
    personOf.set(`north:${id}`, `p${index}`);
  }
  // Weak evidence: clinic north's patient 36 shares center 7's phone and first name, not the
  // surname (a namesake relative, or a married name): two contacts, listed for a person. 37 is a
  // relative on center 8's phone with another first name: two contacts, nothing to decide.
  const weak = syntheticPatient(7, T0);
  const relative = syntheticPatient(8, T0);
  center.rows.set('7', { ...weak, MobilePhone: '+7 912 555 00 07' });
  center.rows.set('8', { ...relative, MobilePhone: '+7 912 555 00 08' });
  north.rows.set('36', { ...weak, PatientId: 36, Surname: 'Другова', MobilePhone: '+7 912 555 00 07' });
  north.rows.set('37', { ...relative, PatientId: 37, Name: 'Другое', MobilePhone: '+7 912 555 00 08' });
  personOf.set('north:36', 'p-weak');
  personOf.set('north:37', 'p-relative');
  const source = new ChainPatientSource([
    { scope: { key: 'center', bare: false }, patients: center },
    { scope: { key: 'north', bare: false }, patients: north },
  ]);
  return { center, north, source, personOf, people: new Set(personOf.values()).size };
}

function measure(emulator: AmoCrmEmulator, identField: number, personOf: Map<string, string>) {
  const contactsOf = new Map<string, number>();
  let contacts = 0;
  let wrongPerson = 0;
  for (const contact of emulator.contacts.values()) {
    const field = contact.custom_fields_values?.find((entry) => entry.field_id === identField);
    const ids = idsInField(String(field?.values[0]?.value ?? ''));
    if (ids.length === 0) continue;
    contacts += 1;
    const people = new Set(ids.map((id) => personOf.get(id) ?? `unknown ${id}`));
    if (people.size > 1) wrongPerson += 1;
    for (const person of people) contactsOf.set(person, (contactsOf.get(person) ?? 0) + 1);
  }
  const duplicates = [...contactsOf.values()].filter((count) => count > 1).length;
  return { contacts, wrongPerson, duplicates };
}

describe('a clinic chain in one amoCRM account', () => {
  it('gives each person one contact, never two people one, and a second deep sync writes nothing', async () => {
    const emulator = await startEmulator();
    try {
      const { source, personOf, people } = chain();
      const stack = await syncStack(emulator, source as unknown as MemorySource);
      const first = await stack.run({ kind: 'incremental' });
      assert.equal(first.outcome, 'ok');
      const identField = identFieldId(stack.resolved);
      assert.deepEqual(measure(emulator, identField, personOf), {
        contacts: people,
        wrongPerson: 0,
        duplicates: 0,
      });
      await stack.run({ kind: 'deep' });
      const writesBefore = emulator.requests.filter((request) => request.write).length;
      const second = await stack.run({ kind: 'deep' });
      assert.equal(second.outcome, 'ok');
      assert.equal(emulator.requests.filter((request) => request.write).length - writesBefore, 0);
      assert.deepEqual(measure(emulator, identField, personOf), {
        contacts: people,
        wrongPerson: 0,
        duplicates: 0,
      });
      assert.deepEqual(
        stack.store.findings('person').map((finding) => finding.patientId),
        ['north:36'],
        'the weak pair is listed for a person, the relative is not',
      );
    } finally {
      await emulator.stop();
    }
  });
});
