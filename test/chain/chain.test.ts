import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { loadConfig } from '../../src/config/config.ts';
import { GeneratedSource, syntheticPatient } from '../../src/demo/clinic.ts';
import { syntheticChain } from '../../src/demo/chain.ts';
import type { AmoCrmEmulator, StoredContact } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { parsePhones } from '../../src/mapping/transforms/phone.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext, type SyncContext } from '../../src/streams/runner/context.ts';
import { fastTuning, longLivedConfig, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { shippedMap } from '../helpers/map.ts';
import {
  chainSettings,
  chainSources,
  ContactWrites,
  countDeals,
  countPeople,
  readAccount,
} from './measure.ts';

const KEYS = ['center', 'north'];

describe('the synthetic chain', () => {
  const chain = syntheticChain({ keys: KEYS, patients: 30, sharedPeople: 5, relatives: 2, receptions: 40 });
  const [center, north] = chain.clinics as [(typeof chain.clinics)[0], (typeof chain.clinics)[0]];
  const row = (clinic: typeof center, id: number) => clinic.patients.row(id);

  it('gives both clinics ids 1…K of different people', () => {
    for (let id = 1; id <= 30; id += 1) {
      assert.notEqual(chain.personOf(`center:${id}`), chain.personOf(`north:${id}`));
      assert.notEqual(row(center, id).MobilePhone ?? 'none', row(north, id).MobilePhone);
    }
  });

  it('keeps each shared person in several clinics under different ids: same phone, name and birth date, own card', () => {
    assert.equal(chain.shared.size, 5);
    for (const ids of chain.shared.values()) {
      assert.equal(ids.length, 2);
      assert.notEqual(ids[0]!.split(':')[1], ids[1]!.split(':')[1], 'different ids');
      const [a, b] = ids.map((kept) => {
        const [key, id] = kept.split(':');
        return row(key === 'center' ? center : north, Number(id));
      }) as [Record<string, unknown>, Record<string, unknown>];
      assert.ok(a.MobilePhone);
      for (const column of ['MobilePhone', 'Surname', 'Name', 'Patronymic', 'BirthDate'])
        assert.deepEqual(a[column], b[column], column);
      assert.notEqual(a.CardNumber, b.CardNumber);
    }
    assert.equal(chain.people, 30 + 30 + 5 + 2);
  });

  it('registers relatives on another patient\u2019s number under another first name', () => {
    let relatives = 0;
    for (const clinic of chain.clinics)
      for (const [id, person] of clinic.people) {
        if (!person.startsWith('relative#')) continue;
        relatives += 1;
        const relative = row(clinic, id);
        const others = chain.clinics.flatMap((each) =>
          [...each.people].filter(([, who]) => who !== person).map(([key]) => row(each, key)),
        );
        const family = others.filter(
          (candidate) =>
            parsePhones(candidate.MobilePhone).phones[0] === parsePhones(relative.MobilePhone).phones[0],
        );
        assert.equal(family.length, 1, 'one other patient has the number');
        assert.notEqual(family[0]!.Name, relative.Name);
      }
    assert.equal(relatives, 2);
  });

  it('gives no two people a number in common but relatives (the evidence is the people\u2019s, not the generator\u2019s)', () => {
    const big = syntheticChain({
      keys: ['center', 'north', 'south'],
      patients: 200,
      sharedPeople: 30,
      relatives: 3,
    });
    const peopleOf = new Map<string, Set<string>>();
    for (const clinic of big.clinics)
      for (const [id, person] of clinic.people) {
        const patient = clinic.patients.row(id);
        for (const phone of [
          ...parsePhones(patient.MobilePhone).phones,
          ...parsePhones(patient.Phone).phones,
        ])
          peopleOf.set(phone, (peopleOf.get(phone) ?? new Set()).add(person));
      }
    const shared = [...peopleOf.values()]
      .filter((people) => people.size > 1)
      .map((people) => [...people].sort());
    assert.equal(shared.length, 3);
    for (const people of shared)
      assert.ok(
        people.some((person) => person.startsWith('relative#')),
        people.join(' + '),
      );
  });

  it('leaves the single synthetic clinic as it was', () => {
    const plain = new GeneratedSource(3);
    for (let id = 1; id <= 3; id += 1)
      assert.deepEqual(plain.row(id), syntheticPatient(id, new Date(Date.UTC(2026, 10, 20, 10))));
    assert.deepEqual(row(center, 7), syntheticPatient(7, new Date(Date.UTC(2026, 10, 20, 10))));
  });
});

describe('the chain measure', () => {
  const chain = syntheticChain({ keys: KEYS, patients: 3, sharedPeople: 1, relatives: 0 });
  const contact = (id: number, field: string) =>
    ({ id, custom_fields_values: [{ field_id: 1, values: [{ value: field }] }] }) as unknown as StoredContact;
  const [shared] = chain.shared.values();
  assert.deepEqual(shared, ['center:4', 'north:2']);

  it('counts a contact carrying two people as wrong, and a person on two contacts as a duplicate', () => {
    const counts = countPeople(
      chain,
      [
        contact(1, 'center:1, north:1'),
        contact(2, 'center:2'),
        contact(3, 'center:3'),
        // north's own 2 and 3 come after its shared person (north:2).
        contact(4, 'north:3'),
        contact(5, 'north:4'),
        contact(6, shared![0]!),
        contact(7, shared![1]!),
      ],
      1,
    );
    assert.deepEqual(
      { wrongPerson: counts.wrongPerson, duplicates: counts.duplicatePeople, missing: counts.missing },
      { wrongPerson: 1, duplicates: ['shared#0'], missing: 0 },
    );
  });

  it('counts one contact for a shared person carrying both ids as right', () => {
    const counts = countPeople(chain, [contact(1, shared!.join(', '))], 1);
    assert.deepEqual([counts.wrongPerson, counts.duplicates, counts.missing], [0, 0, chain.people - 1]);
  });
});

describe('a chain of two clinics into one account (issue 20)', () => {
  const chain = syntheticChain({ keys: KEYS, patients: 30, sharedPeople: 5, relatives: 2, receptions: 60 });
  let emulator: AmoCrmEmulator;
  let stateDir: string;
  let context: SyncContext;
  let secondDeep: { contactWrites: number; touched: number; dealWrites: number };
  let counts: ReturnType<typeof countPeople>;
  let deals: Awaited<ReturnType<typeof countDeals>>;

  before(async () => {
    emulator = await startEmulator();
    const token = 'chain-test-token';
    emulator.addLongLivedToken(token);
    stateDir = tempDir('ident-chain-');
    const client = createAmoClient(
      longLivedConfig(emulator.baseUrl, token, { rateLimitRps: 7 }),
      stateDir,
      silentLogger(),
      fastTuning(emulator),
    );
    await createMissingFields(shippedMap(), client.fields);
    await createMissingFields(shippedDealMap(), client.leadFields, 'deal');
    await createMissingPipelines(shippedDealMap(), client.pipelines);
    const config = loadConfig(
      {
        AMOCRM_BASE_URL: emulator.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: token,
        STATE_DIR: stateDir,
        SYNC_RECEPTIONS: 'true',
        RECEPTIONS_DAYS_BACK: '3650',
        ...chainSettings(chain),
      },
      ['amocrm'],
    );
    const { source, receptions } = chainSources(chain);
    context = await openSyncContext(config, silentLogger(), {
      client,
      source,
      receptions,
      store: new StateStore(stateDir),
    });
    const writes = new ContactWrites(client);
    for (const kind of ['incremental', 'deep'] as const) {
      const result = await context.syncAll(kind);
      assert.equal(result.outcome, 'ok', `${kind}: ${result.error?.message}`);
      assert.equal(result.deals?.outcome, 'ok', `${kind} deals: ${result.deals?.error?.message}`);
    }
    const mark = writes.mark();
    const dealWritesBefore = emulator.writeRequests().length;
    const result = await context.syncAll('deep');
    assert.equal(result.outcome, 'ok');
    const contactWrites = writes.since(mark);
    secondDeep = {
      contactWrites: contactWrites.requests,
      touched: contactWrites.touched.size + contactWrites.creates,
      dealWrites: emulator.writeRequests().length - dealWritesBefore - contactWrites.requests,
    };
    const account = await readAccount(emulator.baseUrl);
    counts = countPeople(chain, account.contacts, identFieldId(context.resolved));
    const receptionField = context.deals!.resolved.fields.find((field) => field.spec.key === 'reception_id')!;
    deals = await countDeals(chain, account.leads, receptionField.fieldId);
  });

  after(async () => {
    await context?.close();
    await emulator?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('never puts two people on one contact and leaves no one out', () => {
    assert.deepEqual(counts.wrongContacts, []);
    assert.equal(counts.missing, 0);
  });

  it('a second deep sync of the chain writes nothing', () => {
    assert.deepEqual(secondDeep, { contactWrites: 0, touched: 0, dealWrites: 0 });
  });

  it('makes one deal per reception of each clinic', () => {
    assert.deepEqual(deals, { receptions: 120, deals: 120, missingDeals: 0, duplicateDeals: 0 });
  });

  it('gives each person one contact: contacts = people, no duplicates', () => {
    assert.deepEqual(counts.duplicatePeople, []);
    assert.equal(counts.contacts, counts.people);
  });
});
