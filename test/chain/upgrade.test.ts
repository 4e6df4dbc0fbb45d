import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type AmoClient, createAmoClient } from '../../src/amocrm/client.ts';
import { loadConfig } from '../../src/config/config.ts';
import { syntheticChain } from '../../src/demo/chain.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import type { PatientSource } from '../../src/ident/patient-source.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { identFieldId, resolveFields } from '../../src/mapping/catalogue.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { fastTuning, longLivedConfig, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { shippedMap } from '../helpers/map.ts';
import { chainSettings, chainSources, countPeople, EntityWrites, readAccount } from './measure.ts';

/**
 * A clinic that synced alone (no SOURCES) becomes the bare source of a chain with a second clinic
 * (issue 20: "an existing state upgrades … without resending anything"): the first clinic's
 * contacts and deals get no write from the upgrade on. The people it shares with the second
 * clinic are counted apart: joining them to the second clinic's ids is a write person matching may
 * make, once.
 */
describe('a single-clinic state upgrading to a chain', () => {
  const chain = syntheticChain({
    keys: ['center', 'north'],
    firstBare: true,
    patients: 30,
    sharedPeople: 5,
    relatives: 2,
    receptions: 60,
  });
  const center = chain.clinics[0]!;
  let emulator: AmoCrmEmulator;
  let stateDir: string;
  let client: AmoClient;
  const config = (settings: Record<string, string>) =>
    loadConfig(
      {
        AMOCRM_BASE_URL: emulator.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: 'upgrade-token',
        STATE_DIR: stateDir,
        SYNC_RECEPTIONS: 'true',
        RECEPTIONS_DAYS_BACK: '3650',
        ...settings,
      },
      ['amocrm'],
    );
  const sync = async (
    source: PatientSource,
    receptions: ReceptionSource,
    kinds: ('incremental' | 'deep')[],
    settings: Record<string, string> = {},
  ) => {
    const context = await openSyncContext(config(settings), silentLogger(), {
      client,
      source,
      receptions,
      store: new StateStore(stateDir),
    });
    try {
      for (const kind of kinds) {
        const result = await context.syncAll(kind);
        assert.equal(result.outcome, 'ok', `${kind}: ${result.error?.message}`);
        assert.equal(result.deals?.outcome, 'ok', `${kind} deals: ${result.deals?.error?.message}`);
      }
    } finally {
      await context.close();
    }
  };
  let centerContacts: Map<number, string>;
  let contactWrites: EntityWrites;
  let leadWrites: EntityWrites;
  let centerLeads: Set<number>;

  before(async () => {
    emulator = await startEmulator();
    emulator.addLongLivedToken('upgrade-token');
    stateDir = tempDir('ident-chain-upgrade-');
    client = createAmoClient(
      longLivedConfig(emulator.baseUrl, 'upgrade-token', { rateLimitRps: 7 }),
      stateDir,
      silentLogger(),
      fastTuning(emulator),
    );
    await createMissingFields(shippedMap(), client.fields);
    await createMissingFields(shippedDealMap(), client.leadFields, 'deal');
    await createMissingPipelines(shippedDealMap(), client.pipelines);
    // The clinic alone, as before chains: its own sources, bare ids.
    await sync(center.patients, center.receptions, ['incremental', 'deep']);
    const account = await readAccount(emulator.baseUrl);
    const fieldId = identFieldId(resolveFields(shippedMap(), await client.fields.list()));
    centerContacts = new Map(
      account.contacts.map((contact) => [
        contact.id,
        String(contact.custom_fields_values?.find((field) => field.field_id === fieldId)?.values[0]?.value),
      ]),
    );
    centerLeads = new Set(account.leads.map((lead) => lead.id));
    contactWrites = new EntityWrites(client.contacts);
    leadWrites = new EntityWrites(client.leads);
    // The same state, now a chain whose bare source is that clinic, plus a second clinic.
    const { source, receptions } = chainSources(chain);
    await sync(source, receptions, ['incremental', 'deep', 'deep'], chainSettings(chain));
  });

  after(async () => {
    await emulator?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('made one contact per patient of the clinic alone', () => {
    assert.equal(centerContacts.size, center.patients.count);
  });

  it('writes none of the first clinic\u2019s contacts of people only it has', (t) => {
    const sharedIds = new Set([...chain.shared.values()].flat());
    const touched = [...contactWrites.since().touched].filter((id) => centerContacts.has(id));
    const own = touched.filter((id) => !sharedIds.has(centerContacts.get(id)!));
    t.diagnostic(
      `after the upgrade: ${touched.length} of the first clinic's ${centerContacts.size} contacts PATCHed (${own.length} of people only it has); ${contactWrites.since().requests} contact write request(s) in all`,
    );
    assert.deepEqual(
      own.map((id) => centerContacts.get(id)),
      [],
    );
  });

  it('creates no contact again for the first clinic\u2019s patients', () => {
    const atCenter = new Set(center.people.values());
    const northOnly = new Set(
      [...chain.clinics[1]!.people.values()].filter((person) => !atCenter.has(person)),
    );
    // Until person matching lands a shared person may get a contact of the second clinic's too.
    assert.ok(
      contactWrites.since().creates <= northOnly.size + chain.shared.size,
      `${contactWrites.since().creates} contacts created for ${northOnly.size} people new to the account and ${chain.shared.size} shared`,
    );
  });

  it('writes none of the first clinic\u2019s deals', () => {
    assert.deepEqual(
      [...leadWrites.since().touched].filter((id) => centerLeads.has(id)),
      [],
    );
  });

  it('puts no two people on one contact after the upgrade, and each person on one', async () => {
    const account = await readAccount(emulator.baseUrl);
    const fieldId = identFieldId(resolveFields(shippedMap(), await client.fields.list()));
    const counts = countPeople(chain, account.contacts, fieldId);
    assert.deepEqual(
      { wrong: counts.wrongContacts, duplicates: counts.duplicatePeople, missing: counts.missing },
      { wrong: [], duplicates: [], missing: 0 },
    );
    assert.equal(counts.contacts, counts.people);
  });
});
