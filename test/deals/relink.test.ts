import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { type AttackStack, attackEmulator, attackStack, dealOf } from './stack.ts';

const day = (offset: number, hour = 10) =>
  new Date(Date.UTC(T0.getUTCFullYear(), T0.getUTCMonth(), T0.getUTCDate() + offset, hour));

describe('attack: visits moved to another patient', () => {
  let emulator: AmoCrmEmulator;
  let patients: MemorySource;
  let receptions: MemoryReceptions;
  let stack: AttackStack;
  const contactOf = (s: AttackStack, patientId: number) => s.store.link(String(patientId))!.contactId;

  beforeEach(async () => {
    emulator = await attackEmulator();
    patients = new MemorySource([syntheticPatient(1, T0), syntheticPatient(2, T0), syntheticPatient(3, T0)]);
    receptions = new MemoryReceptions(patients, [
      { ReceptionId: 21, PatientId: 2, PlanStart: day(3) },
      { ReceptionId: 22, PatientId: 2, PlanStart: day(4) },
    ]);
    stack = await attackStack(emulator, patients, receptions);
  });
  afterEach(async () => {
    stack.store.close();
    await emulator.stop();
  });

  // A deal found by its reception id on another IDENT patient's contact: a visit moved while the
  // state was lost looks the same as a manager's choice (a child's visit on the mother's contact),
  // and moving it would undo that choice: it stays, and the log names it for a person.
  it('a state folder lost while a visit moved: the deal stays on the contact it is on, and the log says so', async () => {
    await stack.both();
    stack.store.close();
    receptions.touch(21, { PatientId: 3 });
    stack = await attackStack(emulator, patients, receptions, { stateDir: tempDir() });
    const logged: string[] = [];
    const logger = createLogger({
      level: 'warn',
      format: 'json',
      destination: { write: (line: string) => logged.push(line) },
    });
    await stack.run();
    const result = await stack.deals({ kind: 'incremental' }, {}, logger);
    assert.equal(result.outcome, 'ok');
    assert.deepEqual(dealOf(emulator, stack, 21).contacts, [{ id: contactOf(stack, 2), is_main: true }]);
    assert.ok(logged.some((line) => /on another IDENT patient's contact: left there/.test(line)));
    const writes = emulator.writeRequests().length;
    await stack.both('deep');
    assert.equal(emulator.writeRequests().length, writes, 'nothing moves it behind the manager’s back');
  });

  it("a state folder lost: a child's visit a manager put on the mother's contact (both patients) stays there", async () => {
    await stack.both();
    const lead = emulator.deals.leads.get(dealOf(emulator, stack, 21).id)!;
    lead.contacts = [{ id: contactOf(stack, 1), is_main: true }];
    lead.updated_at += 1;
    await stack.both('deep');
    assert.deepEqual(dealOf(emulator, stack, 21).contacts, [{ id: contactOf(stack, 1), is_main: true }]);
    stack.store.close();
    stack = await attackStack(emulator, patients, receptions, { stateDir: tempDir() });
    await stack.both();
    await stack.both('deep');
    assert.deepEqual(dealOf(emulator, stack, 21).contacts, [{ id: contactOf(stack, 1), is_main: true }]);
  });

  it('a state folder lost: a deal a manager put on a contact of no IDENT patient stays there', async () => {
    await stack.both();
    const managers = emulator.seedContact({ name: 'Мама пациента' });
    const lead = emulator.deals.leads.get(dealOf(emulator, stack, 21).id)!;
    lead.contacts = [{ id: managers.id, is_main: true }];
    lead.updated_at += 1;
    stack.store.close();
    stack = await attackStack(emulator, patients, receptions, { stateDir: tempDir() });
    await stack.both();
    await stack.both('deep');
    assert.deepEqual(dealOf(emulator, stack, 21).contacts, [{ id: managers.id, is_main: true }]);
  });

  it('moved A→B with the link applied and its answer lost, then back to A before the next run', async () => {
    await stack.both();
    receptions.touch(21, { PatientId: 3 });
    emulator.scriptFault({ method: 'POST', status: 502, applied: true });
    await stack.both();
    receptions.touch(21, { PatientId: 2 });
    await stack.both();
    await stack.both();
    assert.deepEqual(dealOf(emulator, stack, 21).contacts, [{ id: contactOf(stack, 2), is_main: true }]);
    assert.deepEqual(stack.store.deals.relinks(), []);
    assert.equal(stack.store.deals.links(['21']).get('21')!.patientId, '2');
    const writes = emulator.writeRequests().length;
    await stack.both('deep');
    assert.equal(emulator.writeRequests().length, writes);
  });

  // Found by the attack: a refused unlink dropped the intent, and the next run, seeing the new main
  // contact, took the move for done. The unlink alone is now tried again by the next deep sync.
  it('the unlink refused once: the old contact does not stay on the deal (the next deep sync unlinks it)', async () => {
    await stack.both();
    receptions.touch(21, { PatientId: 3 });
    const leads = stack.client.leads;
    const unlink = leads.unlinkContact.bind(leads);
    let refused = 0;
    leads.unlinkContact = async (leadId, contactId) => {
      if (refused++ === 0) return { kind: 'refused', problems: [] };
      return unlink(leadId, contactId);
    };
    await stack.both();
    stack.clock.advance(3_600_000);
    await stack.both();
    await stack.both('deep');
    assert.deepEqual(dealOf(emulator, stack, 21).contacts, [{ id: contactOf(stack, 3), is_main: true }]);
  });
});
