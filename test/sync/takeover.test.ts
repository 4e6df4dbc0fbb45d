import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';

const values = (emulator: AmoCrmEmulator, contactId: number, code: 'PHONE' | 'EMAIL') =>
  (emulator.contacts.get(contactId)?.custom_fields_values ?? [])
    .find((field) => field.field_code === code)
    ?.values.map((value) => String(value.value)) ?? [];

const patient = {
  ...syntheticPatient(9301, T0),
  Surname: 'Иванова',
  Name: 'Мария',
  MobilePhone: '8 916 123 45 67',
  Phone: null,
  Email: null,
};

const typed = (emulator: AmoCrmEmulator, name = 'Мария') =>
  emulator.seedContact({
    name,
    custom_fields_values: [
      {
        field_code: 'PHONE',
        values: [
          { value: '8 (916) 123-45-67', enum_code: 'MOB' },
          { value: '+7 495 111-22-33', enum_code: 'WORK' },
        ],
      },
    ],
  });

/**
 * A manager typed the caller (`typed`); the patient registered in IDENT takes that contact over.
 * `killed`: the take-over's PATCH is applied but its answer never arrives (the run fails as a kill
 * would leave it). `merged`: a manager then types the person again and merges the old contact into
 * the new one. IDENT drops the typed number before the run numbered `dropAt` of `kinds`. Returns
 * the surviving contact's phones.
 */
async function story(options: {
  killed: boolean;
  merged: boolean;
  kinds: ('incremental' | 'deep')[];
  dropAt: number;
}): Promise<string[]> {
  const emulator = await startEmulator();
  try {
    const source = new MemorySource([patient]);
    const stack = await syncStack(emulator, source);
    let survivor = typed(emulator);
    if (options.killed) {
      for (let i = 0; i < 8; i++) emulator.scriptFault({ method: 'PATCH', status: 502, applied: true });
      assert.equal((await stack.run()).outcome, 'failed');
    } else assert.equal((await stack.run()).linked, 1);
    if (options.merged) {
      const fresh = emulator.seedContact({
        name: 'Мария Иванова',
        custom_fields_values: [
          { field_code: 'PHONE', values: [{ value: '+7 916 123-45-67', enum_code: 'MOB' }] },
        ],
      });
      emulator.mergeContacts(fresh.id, survivor.id);
      survivor = fresh;
    }
    for (const [index, kind] of options.kinds.entries()) {
      if (index === options.dropAt) source.touch(9301, { MobilePhone: '+7 917 000-00-01' });
      stack.clock.advance(PAST_PENDING_WAIT_MS);
      const run = await stack.run({ kind });
      assert.equal(run.outcome, 'ok', run.error?.message);
    }
    return values(emulator, survivor.id, 'PHONE');
  } finally {
    await emulator.stop();
  }
}

const keepsTyped = (phones: string[]) =>
  assert.ok(
    phones.some((phone) => phone.replace(/\D/g, '').endsWith('9161234567')),
    `the number the manager typed was erased: ${JSON.stringify(phones)}`,
  );

describe("a caller's number a manager typed stays through a take-over, a kill and a merge", () => {
  it('R1: killed after amoCRM applied the take-over; IDENT then drops the number: it stays', async () =>
    keepsTyped(await story({ killed: true, merged: false, kinds: ['incremental'], dropAt: 0 })));

  it('R1b: the next run completes the take-over; IDENT drops the number after that: it stays', async () =>
    keepsTyped(
      await story({ killed: true, merged: false, kinds: ['incremental', 'incremental'], dropAt: 1 }),
    ));

  it('R2: merged by a manager into a fresh contact before the next run; IDENT drops the number', async () =>
    keepsTyped(
      await story({ killed: true, merged: true, kinds: ['incremental', 'deep', 'deep'], dropAt: 0 }),
    ));

  it('R2b: as R2, but IDENT drops the number only after the survivor is taken', async () =>
    keepsTyped(
      await story({ killed: true, merged: true, kinds: ['incremental', 'deep', 'deep'], dropAt: 2 }),
    ));

  it('R2c: no kill: taken over, merged into a fresh contact, IDENT later drops the number', async () =>
    keepsTyped(
      await story({ killed: false, merged: true, kinds: ['incremental', 'deep', 'deep'], dropAt: 2 }),
    ));
});
