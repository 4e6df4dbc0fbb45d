import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type AmoClient, createAmoClient } from '../../src/amocrm/client.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { syntheticChain } from '../../src/demo/chain.ts';
import type { AmoCrmEmulator, StoredContact } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import type { PatientSource } from '../../src/ident/patient-source.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { identFieldId, resolveFields } from '../../src/mapping/catalogue.ts';
import { ChainPatientSource } from '../../src/sources/scoped-sources.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { fastTuning, longLivedConfig, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { readAccount } from './measure.ts';

/**
 * Attack (a11): a clinic synced alone (bare ids). The operator configures the chain but names the
 * WRONG clinic in SOURCE_BARE_IDS (north instead of center — the brief's "a bare source that is not
 * the one that synced alone"). Nothing in the state says which database the bare ids came from, so
 * north's patient 1 is read as the state's patient 1 (center's person) → wrong-person merge, the
 * very bug of issue 20. Expected: refused, or at least no center contact overwritten by a north person.
 */
/** Name and phones of a stored contact: who it describes. */
const person = (c: StoredContact) =>
  `${c.name} ${JSON.stringify(c.custom_fields_values?.filter((f) => f.field_code === 'PHONE').flatMap((f) => f.values.map((v) => v.value)))}`;

describe('a clinic chain: SOURCE_BARE_IDS names a clinic that did not sync alone', () => {
  const chain = syntheticChain({ keys: ['center', 'north'], firstBare: true, patients: 20, sharedPeople: 0 });
  const center = chain.clinics[0]!;
  const north = chain.clinics[1]!;
  let emulator: AmoCrmEmulator;
  let stateDir: string;
  let client: AmoClient;
  const config = (settings: Record<string, string>) =>
    loadConfig(
      { AMOCRM_BASE_URL: emulator.baseUrl, AMOCRM_LONG_LIVED_TOKEN: 'tok', STATE_DIR: stateDir, ...settings },
      ['amocrm'],
    );
  const sync = async (source: PatientSource, settings: Record<string, string> = {}) => {
    const context = await openSyncContext(config(settings), silentLogger(), {
      client,
      source,
      store: new StateStore(stateDir),
    });
    try {
      for (const kind of ['incremental', 'deep'] as const) {
        const result = await context.syncAll(kind);
        assert.equal(result.outcome, 'ok', `${kind}: ${result.error?.message}`);
      }
    } finally {
      await context.close();
    }
  };
  let before_: Map<number, string>;
  let refused: unknown;

  before(async () => {
    emulator = await startEmulator();
    emulator.addLongLivedToken('tok');
    stateDir = tempDir('a11-wrong-bare-');
    client = createAmoClient(
      longLivedConfig(emulator.baseUrl, 'tok', { rateLimitRps: 7 }),
      stateDir,
      silentLogger(),
      fastTuning(emulator),
    );
    await createMissingFields(shippedMap(), client.fields);
    await sync(center.patients);
    before_ = new Map((await readAccount(emulator.baseUrl)).contacts.map((c) => [c.id, person(c)]));
    // The chain with north wrongly named bare.
    const source = new ChainPatientSource([
      { scope: { key: 'center', bare: false }, patients: center.patients },
      { scope: { key: 'north', bare: true }, patients: north.patients },
    ]);
    try {
      await sync(source, { SOURCES: 'center,north', SOURCE_BARE_IDS: 'north' });
    } catch (error) {
      refused = error;
    }
  });

  after(async () => {
    await emulator?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('is refused, or overwrites no contact of the clinic that synced alone with another person', async (t) => {
    if (refused) {
      assert.ok(refused instanceof ConfigError, String(refused));
      return;
    }
    const account = await readAccount(emulator.baseUrl);
    const fieldId = identFieldId(resolveFields(shippedMap(), await client.fields.list()));
    const renamed = account.contacts
      .filter((c) => before_.has(c.id) && before_.get(c.id) !== person(c))
      .map((c) => {
        const ids = c.custom_fields_values?.find((f) => f.field_id === fieldId)?.values[0]?.value;
        return `contact ${c.id} [${ids}]: "${before_.get(c.id)}" → "${person(c)}"`;
      });
    t.diagnostic(
      `${renamed.length} of ${before_.size} center contacts now carry another person's phone; ${account.contacts.length} contacts for 20 center patients (the state's, unchanged) — north's 20 patients took their contacts, center's 20 got new ones`,
    );
    t.diagnostic(renamed.slice(0, 3).join('\n'));
    assert.deepEqual(renamed, []);
  });
});
