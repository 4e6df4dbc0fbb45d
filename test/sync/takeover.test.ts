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

describe("a caller's number a manager typed stays through a take-over, a kill and a merge", () => {
  it('R1: IDENT then drops the number the manager typed: it stays', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource([patient]);
      const stack = await syncStack(emulator, source);
      const lead = typed(emulator);
      for (let i = 0; i < 8; i++) emulator.scriptFault({ method: 'PATCH', status: 502, applied: true });
      const first = await stack.run();
      assert.equal(first.outcome, 'failed');
      source.touch(9301, { MobilePhone: '+7 917 000-00-01' });
      const next = await stack.run();
      assert.equal(next.outcome, 'ok', next.error?.message);
      assert.ok(
        values(emulator, lead.id, 'PHONE').includes('8 (916) 123-45-67'),
        JSON.stringify(values(emulator, lead.id, 'PHONE')),
      );
    } finally {
      await emulator.stop();
    }
  });

  it('R1b: the next run completes the take-over; IDENT drops the typed number after that: it stays', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource([patient]);
      const stack = await syncStack(emulator, source);
      const lead = typed(emulator);
      for (let i = 0; i < 8; i++) emulator.scriptFault({ method: 'PATCH', status: 502, applied: true });
      const first = await stack.run();
      assert.equal(first.outcome, 'failed');
      const next = await stack.run();
      assert.equal(next.outcome, 'ok', next.error?.message);
      source.touch(9301, { MobilePhone: '+7 917 000-00-01' });
      assert.equal((await stack.run()).outcome, 'ok');
      assert.ok(
        values(emulator, lead.id, 'PHONE').includes('8 (916) 123-45-67'),
        JSON.stringify(values(emulator, lead.id, 'PHONE')),
      );
    } finally {
      await emulator.stop();
    }
  });

  it('R2: the contact is merged by a manager into a fresh one before the next run; IDENT drops the typed number', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource([patient]);
      const stack = await syncStack(emulator, source);
      const lead = typed(emulator);
      for (let i = 0; i < 8; i++) emulator.scriptFault({ method: 'PATCH', status: 502, applied: true });
      assert.equal((await stack.run()).outcome, 'failed');
      // A manager types the same person again (with the same number) and merges the old one into it.
      const fresh = emulator.seedContact({
        name: 'Мария Иванова',
        custom_fields_values: [
          { field_code: 'PHONE', values: [{ value: '+7 916 123-45-67', enum_code: 'MOB' }] },
        ],
      });
      emulator.mergeContacts(fresh.id, lead.id);
      source.touch(9301, { MobilePhone: '+7 917 000-00-01' });
      for (let i = 0; i < 3; i++) {
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        const run = await stack.run({ kind: i === 0 ? 'incremental' : 'deep' });
        assert.equal(run.outcome, 'ok', run.error?.message);
      }
      const phones = values(emulator, fresh.id, 'PHONE');
      assert.ok(
        phones.some((phone) => phone.replace(/\D/g, '').endsWith('9161234567')),
        `the number both managers typed was erased: ${JSON.stringify(phones)}`,
      );
    } finally {
      await emulator.stop();
    }
  });
  it('R2b: as R2, but IDENT drops the typed number only after the next runs', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource([patient]);
      const stack = await syncStack(emulator, source);
      const lead = typed(emulator);
      for (let i = 0; i < 8; i++) emulator.scriptFault({ method: 'PATCH', status: 502, applied: true });
      assert.equal((await stack.run()).outcome, 'failed');
      // A manager types the same person again (with the same number) and merges the old one into it.
      const fresh = emulator.seedContact({
        name: 'Мария Иванова',
        custom_fields_values: [
          { field_code: 'PHONE', values: [{ value: '+7 916 123-45-67', enum_code: 'MOB' }] },
        ],
      });
      emulator.mergeContacts(fresh.id, lead.id);
      for (let i = 0; i < 3; i++) {
        if (i === 2) source.touch(9301, { MobilePhone: '+7 917 000-00-01' });
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        const run = await stack.run({ kind: i === 0 ? 'incremental' : 'deep' });
        assert.equal(run.outcome, 'ok', run.error?.message);
      }
      const phones = values(emulator, fresh.id, 'PHONE');
      assert.ok(
        phones.some((phone) => phone.replace(/\D/g, '').endsWith('9161234567')),
        `the number both managers typed was erased: ${JSON.stringify(phones)}`,
      );
    } finally {
      await emulator.stop();
    }
  });
  it('R2c: no kill at all: taken over, merged into a fresh contact, IDENT later drops the typed number', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource([patient]);
      const stack = await syncStack(emulator, source);
      const lead = typed(emulator);
      assert.equal((await stack.run()).linked, 1);
      // A manager types the same person again (with the same number) and merges the old one into it.
      const fresh = emulator.seedContact({
        name: 'Мария Иванова',
        custom_fields_values: [
          { field_code: 'PHONE', values: [{ value: '+7 916 123-45-67', enum_code: 'MOB' }] },
        ],
      });
      emulator.mergeContacts(fresh.id, lead.id);
      for (let i = 0; i < 3; i++) {
        if (i === 2) source.touch(9301, { MobilePhone: '+7 917 000-00-01' });
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        const run = await stack.run({ kind: i === 0 ? 'incremental' : 'deep' });
        assert.equal(run.outcome, 'ok', run.error?.message);
      }
      const phones = values(emulator, fresh.id, 'PHONE');
      assert.ok(
        phones.some((phone) => phone.replace(/\D/g, '').endsWith('9161234567')),
        `the number both managers typed was erased: ${JSON.stringify(phones)}`,
      );
    } finally {
      await emulator.stop();
    }
  });
});
