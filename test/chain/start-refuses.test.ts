import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type AmoClient, createAmoClient } from '../../src/amocrm/client.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import type { PatientSource } from '../../src/ident/patient-source.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { identFieldId, resolveFields } from '../../src/mapping/catalogue.ts';
import { ChainPatientSource } from '../../src/sources/scoped-sources.ts';
import { idsInField } from '../../src/sources/source-key.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { fastTuning, longLivedConfig, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { emulatorOn, MemorySource, person } from './helpers.ts';

/** Two clinics, ids 1..N in both, different people (own phones and names). */
function clinics(n: number) {
  const center = new MemorySource();
  const north = new MemorySource();
  for (let id = 1; id <= n; id += 1) {
    center.put(
      person(id, {
        Surname: 'Центров',
        Name: `Ц${'а'.repeat(id)}`,
        MobilePhone: `+7 912 100 ${String(1000 + id)}`,
      }),
    );
    north.put(
      person(id, {
        Surname: 'Севернов',
        Name: `С${'о'.repeat(id)}`,
        MobilePhone: `+7 913 200 ${String(1000 + id)}`,
      }),
    );
  }
  return { center, north };
}

async function harness(emulator: AmoCrmEmulator) {
  emulator.addLongLivedToken('attack-token');
  const stateDir = tempDir('a9-state-check-');
  const client: AmoClient = createAmoClient(
    longLivedConfig(emulator.baseUrl, 'attack-token', { rateLimitRps: 7 }),
    stateDir,
    silentLogger(),
    fastTuning(emulator),
  );
  await createMissingFields(shippedMap(), client.fields);
  const sync = async (
    source: PatientSource,
    settings: Record<string, string>,
    kind: 'incremental' | 'deep',
  ) => {
    const config = loadConfig(
      {
        AMOCRM_BASE_URL: emulator.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: 'attack-token',
        STATE_DIR: stateDir,
        ...settings,
      },
      ['amocrm'],
    );
    const context = await openSyncContext(config, silentLogger(), {
      client,
      source,
      store: new StateStore(stateDir),
    });
    try {
      const result = await context.syncAll(kind);
      assert.equal(result.outcome, 'ok', result.error?.message);
    } finally {
      await context.close();
    }
  };
  const people = async () => {
    const fieldId = identFieldId(resolveFields(shippedMap(), await client.fields.list()));
    return [...emulator.contacts.values()].map((contact) => ({
      ids: idsInField(
        String(contact.custom_fields_values?.find((f) => f.field_id === fieldId)?.values[0]?.value ?? ''),
      ),
      name: contact.name,
    }));
  };
  return { stateDir, sync, people };
}

const chainOf = (center: MemorySource, north: MemorySource, bare?: 'center' | 'north') =>
  new ChainPatientSource([
    { scope: { key: 'center', bare: bare === 'center' }, patients: center },
    { scope: { key: 'north', bare: bare === 'north' }, patients: north },
  ]);

describe('a clinic chain: the start refuses a state the configured sources do not own', () => {
  it('refuses SOURCE_BARE_IDS set after the chain ran with every id scoped', async () => {
    const emulator = await emulatorOn(47530);
    const { center, north } = clinics(5);
    const h = await harness(emulator);
    try {
      await h.sync(chainOf(center, north), { SOURCES: 'center,north' }, 'incremental');
      assert.equal((await h.people()).length, 10);
      // The operator reads the README and adds SOURCE_BARE_IDS=center ("the clinic that synced alone before").
      let refused: unknown;
      try {
        await h.sync(
          chainOf(center, north, 'center'),
          { SOURCES: 'center,north', SOURCE_BARE_IDS: 'center' },
          'deep',
        );
      } catch (error) {
        refused = error;
      }
      const after = await h.people();
      console.log('contacts after the switch:', after.length, JSON.stringify(after.map((c) => c.ids)));
      assert.ok(
        refused,
        `the start was not refused; the account now has ${after.length} contacts for 10 people`,
      );
    } finally {
      await emulator.stop();
      rmSync(h.stateDir, { recursive: true, force: true });
    }
  });

  it('refuses SOURCE_BARE_IDS naming the wrong clinic when a single-clinic state upgrades', async () => {
    const emulator = await emulatorOn(47540);
    const { center, north } = clinics(5);
    const h = await harness(emulator);
    try {
      // center synced alone (no SOURCES): bare ids.
      await h.sync(center, {}, 'incremental');
      // Upgrade, but SOURCE_BARE_IDS names north (the new clinic) by mistake.
      let refused: unknown;
      try {
        await h.sync(
          chainOf(center, north, 'north'),
          { SOURCES: 'center,north', SOURCE_BARE_IDS: 'north' },
          'deep',
        );
      } catch (error) {
        refused = error;
      }
      const after = await h.people();
      console.log('contacts after the wrong upgrade:', JSON.stringify(after));
      assert.ok(refused, 'the start was not refused');
    } finally {
      await emulator.stop();
      rmSync(h.stateDir, { recursive: true, force: true });
    }
  });
});
