import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { ChainPatientSource } from '../../src/sources/scoped-sources.ts';
import { idsInField } from '../../src/sources/source-key.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { type SyncStack, syncStack } from '../helpers/sync-stack.ts';

export { MemorySource, syntheticPatient, T0 };

/** A person row: only what matters for the attacks, the rest from the synthetic generator. */
export function person(id: number, fields: Record<string, unknown>, changedAt = T0) {
  return {
    ...syntheticPatient(id, changedAt),
    Phone: null,
    Email: null,
    Comment: null,
    PatientId: id,
    ChangedAt: changedAt,
    ...fields,
  };
}

export async function chainStack(
  emulator: AmoCrmEmulator,
  clinics: { key: string; bare?: boolean; source: MemorySource }[],
  options: { stateDir?: string } = {},
): Promise<SyncStack & { chain: ChainPatientSource }> {
  const chain = new ChainPatientSource(
    clinics.map((clinic) => ({
      scope: { key: clinic.key, bare: clinic.bare ?? false },
      patients: clinic.source,
    })),
  );
  const stack = await syncStack(emulator, chain as unknown as MemorySource, options);
  return Object.assign(stack, { chain });
}

/** The account's contacts with what they carry: ids, names, phones. */
export function contactsOf(emulator: AmoCrmEmulator, stack: SyncStack) {
  const field = identFieldId(stack.resolved);
  return [...emulator.contacts.values()].map((contact) => {
    const value = contact.custom_fields_values?.find((entry) => entry.field_id === field)?.values[0]?.value;
    const phones = contact.custom_fields_values
      ?.find((entry) => entry.field_code === 'PHONE')
      ?.values.map((entry) => String(entry.value));
    return {
      id: contact.id,
      ids: idsInField(value === undefined ? undefined : String(value)),
      name: contact.name,
      first: contact.first_name,
      last: contact.last_name,
      phones: phones ?? [],
    };
  });
}

export const writes = (emulator: AmoCrmEmulator) =>
  emulator.requests.filter((request) => request.write).length;

import { startEmulator } from '../helpers/amocrm.ts';
/** An emulator on a free port of the loopback (`_base` was an attacker's port range; kept for the callers). */
export function emulatorOn(_base: number) {
  return startEmulator();
}
