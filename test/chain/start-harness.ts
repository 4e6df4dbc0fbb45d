import assert from 'node:assert/strict';
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
import type { MemorySource } from './helpers.ts';

/** A daemon start (openSyncContext, with its start checks) and one run, as start-refuses.test.ts. */
export async function harness(emulator: AmoCrmEmulator) {
  emulator.addLongLivedToken('attack-token');
  const stateDir = tempDir('a13-state-');
  const client: AmoClient = createAmoClient(
    longLivedConfig(emulator.baseUrl, 'attack-token', { rateLimitRps: 7 }),
    stateDir,
    silentLogger(),
    fastTuning(emulator),
  );
  await createMissingFields(shippedMap(), client.fields);
  /** Starts (the start's checks) and runs once; returns the refusal's message, or undefined. */
  const start = async (
    source: PatientSource,
    settings: Record<string, string>,
    kind: 'incremental' | 'deep',
  ): Promise<string | undefined> => {
    const config = loadConfig(
      {
        AMOCRM_BASE_URL: emulator.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: 'attack-token',
        STATE_DIR: stateDir,
        ...settings,
      },
      ['amocrm'],
    );
    let context;
    try {
      context = await openSyncContext(config, silentLogger(), {
        client,
        source,
        store: new StateStore(stateDir),
      });
    } catch (error) {
      return (error as Error).message;
    }
    try {
      const result = await context.syncAll(kind);
      assert.equal(result.outcome, 'ok', result.error?.message);
    } finally {
      await context.close();
    }
    return undefined;
  };
  const people = async () => {
    const fieldId = identFieldId(resolveFields(shippedMap(), await client.fields.list()));
    return [...emulator.contacts.values()].map((contact) => ({
      ids: idsInField(
        String(contact.custom_fields_values?.find((f) => f.field_id === fieldId)?.values[0]?.value ?? ''),
      ),
      name: contact.name,
      phones:
        contact.custom_fields_values
          ?.find((f) => f.field_code === 'PHONE')
          ?.values.map((v) => String(v.value)) ?? [],
    }));
  };
  return { stateDir, start, people };
}

export const chainOf = (clinics: { key: string; bare?: boolean; source: MemorySource }[]) =>
  new ChainPatientSource(
    clinics.map((clinic) => ({
      scope: { key: clinic.key, bare: clinic.bare ?? false },
      patients: clinic.source,
    })),
  );
