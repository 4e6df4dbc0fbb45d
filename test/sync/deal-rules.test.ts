import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { LOST, WON } from '../../src/emulator/leads.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { type DealStack, dealStack } from '../helpers/deal-stack.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';

const day = (offset: number, hour = 10) =>
  new Date(Date.UTC(T0.getUTCFullYear(), T0.getUTCMonth(), T0.getUTCDate() + offset, hour));

/** Issue 19, items 3–6: visits moved to another patient, undone, taken over late, deleted. */
describe('deal rules for visits as a clinic runs them', () => {
  let emulator: AmoCrmEmulator;
  let patients: MemorySource;
  let receptions: MemoryReceptions;
  let stack: DealStack;
  const fieldId = (key: string) => stack.dealResolved.fields.find((field) => field.spec.key === key)!.fieldId;
  const dealOf = (receptionId: number) => {
    const found = [...emulator.deals.leads.values()].filter((lead) =>
      lead.custom_fields_values?.some(
        (field) =>
          field.field_id === fieldId('reception_id') &&
          String(field.values[0]?.value) === String(receptionId),
      ),
    );
    assert.equal(found.length, 1, `reception ${receptionId} has ${found.length} deals`);
    return found[0]!;
  };
  const stage = (name: string, role: 'primary' | 'repeat' = 'primary') =>
    stack.dealResolved.pipelines[role].stages.find((candidate) => candidate.name === name)!.id;
  const contactOf = (patientId: number) => stack.store.link(String(patientId))!.contactId;

  beforeEach(async () => {
    emulator = await startEmulator();
    patients = new MemorySource([syntheticPatient(1, T0), syntheticPatient(2, T0), syntheticPatient(3, T0)]);
    receptions = new MemoryReceptions(patients, [
      {
        ReceptionId: 11,
        PatientId: 1,
        PlanStart: day(-30),
        ArrivedAt: day(-30),
        EndedAt: day(-30, 11),
        Sum: 3000,
      },
      { ReceptionId: 12, PatientId: 1, PlanStart: day(5) },
      { ReceptionId: 21, PatientId: 2, PlanStart: day(3) },
    ]);
    stack = await dealStack(emulator, patients, receptions);
  });
  afterEach(async () => {
    stack.store.close();
    await emulator.stop();
  });

  it('a visit moved to another patient in IDENT takes its deal to that patient’s contact (link, then unlink), and a lost answer is finished by the next run', async () => {
    await stack.both();
    const deal = dealOf(21);
    assert.deepEqual(deal.contacts, [{ id: contactOf(2), is_main: true }]);

    receptions.touch(21, { PatientId: 3 });
    // The link is applied but its answer is lost: the intent written before it finishes the job next run.
    emulator.scriptFault({ method: 'POST', status: 502, applied: true });
    const first = await stack.both();
    assert.equal(first.outcome, 'ok');
    assert.equal(stack.store.deals.relinks().length, 1, 'the intent outlives the lost answer');
    assert.equal(stack.store.deals.links(['21']).get('21')!.patientId, '2', 'not known as moved yet');
    const second = await stack.both();
    assert.equal(second.outcome, 'ok');
    assert.deepEqual(dealOf(21).contacts, [{ id: contactOf(3), is_main: true }]);
    assert.equal(dealOf(21).id, deal.id, 'the same deal follows; none is created or deleted');
    assert.equal(stack.store.deals.links(['21']).get('21')!.patientId, '3');
    assert.deepEqual(stack.store.deals.relinks(), []);
    const link = emulator.requests.filter((request) => /\/api\/v4\/leads\/\d+\/link$/.test(request.path));
    assert.ok(link.length >= 1);

    const writes = emulator.writeRequests().length;
    const deep = await stack.both('deep');
    assert.equal(deep.outcome, 'ok');
    assert.equal(emulator.writeRequests().length, writes, 'the deep sync finds nothing more to do');
    assert.ok(stack.store.deals.fullReadAt(), 'the deep deal run is recorded for the schedule');
    assert.deepEqual(emulator.breaches, []);
  });

  it("an undone cancellation reopens the sync's own lost deal; a manager's lost deal stays lost", async () => {
    await stack.both();
    receptions.touch(12, { CanceledAt: day(1), CancelReason: 'Перенос' });
    await stack.both();
    assert.equal(dealOf(12).status_id, LOST);
    // IDENT changes its mind: the cancellation is undone. The sync undoes its own lost.
    receptions.touch(12, { CanceledAt: null, CancelReason: null });
    const undone = await stack.both();
    assert.equal(undone.moved, 1);
    assert.equal(dealOf(12).status_id, stage('Записан', 'repeat'));

    // A manager closes the other deal as lost by hand: IDENT's changes never reopen it.
    emulator.deals.move(dealOf(21).id, LOST);
    receptions.touch(21, { ArrivedAt: day(3) });
    await stack.both();
    await stack.both('deep');
    assert.equal(dealOf(21).status_id, LOST);
  });

  it('a lead a manager opened before SYNC_RECEPTIONS went on is taken by the nearest upcoming visit, never by a past ended one', async () => {
    receptions.put({ ReceptionId: 10, PatientId: 1, PlanStart: day(20) });
    await stack.run();
    const { primary } = stack.dealResolved.pipelines;
    const lead = emulator.deals.seed({
      name: 'Звонок: запись',
      contactId: contactOf(1),
      pipelineId: primary.id,
    });
    const result = await stack.deals();
    assert.equal(result.outcome, 'ok');
    assert.equal(dealOf(12).id, lead.id, 'the nearest upcoming visit takes the lead');
    assert.notEqual(dealOf(11).id, lead.id, 'the past ended visit gets a deal of its own');
    assert.notEqual(dealOf(10).id, lead.id);
    const taken = emulator.deals.leads.get(lead.id)!;
    assert.notEqual(taken.status_id, WON);
    assert.equal(taken.price, 0);
    assert.deepEqual([dealOf(11).status_id, dealOf(11).price], [WON, 3000]);
  });

  it('a reception deleted in IDENT has its deal closed as lost with the reason, never deleted; restored, it reopens', async () => {
    await stack.both();
    const deal = dealOf(21);
    receptions.rows.delete(21);
    const incremental = await stack.both();
    assert.equal(incremental.outcome, 'ok');
    const deep = await stack.both('deep');
    assert.equal(deep.outcome, 'ok');
    assert.equal(deep.closed, 1);
    const closed = emulator.deals.leads.get(deal.id)!;
    assert.equal(closed.status_id, LOST);
    assert.equal(
      closed.custom_fields_values?.find((field) => field.field_id === fieldId('cancel_reason'))?.values[0]
        ?.value,
      'удалён в IDENT',
    );
    assert.deepEqual(
      stack.store.deals.deletedReceptions().map((entry) => [entry.receptionId, entry.closed]),
      [['21', true]],
    );
    assert.equal(stack.store.deals.deletedCount(), 1);
    // A second deep sync leaves it as it is.
    const writes = emulator.writeRequests().length;
    await stack.both('deep');
    assert.equal(emulator.writeRequests().length, writes);
    // Restored in IDENT (a deletion undone): the sync's own lost is undone.
    receptions.put({ ReceptionId: 21, PatientId: 2, PlanStart: day(3) });
    await stack.both();
    assert.equal(dealOf(21).id, deal.id);
    assert.equal(dealOf(21).status_id, stage('Записан'));
    assert.equal(stack.store.deals.deletedCount(), 0);
  });
});
