import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { LOST, WON } from '../../src/emulator/leads.ts';
import { statusReport } from '../../src/cli/commands/status.ts';
import { testReception } from '../../src/cli/commands/test-reception.ts';
import { shownValue } from '../../src/cli/commands/test-patient.ts';
import { loadConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { systemClock } from '../../src/support/clock.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { startEmulator, systemStagesInUse } from '../helpers/amocrm.ts';
import { type DealStack, dealStack } from '../helpers/deal-stack.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';

const day = (offset: number, hour = 10) =>
  new Date(Date.UTC(T0.getUTCFullYear(), T0.getUTCMonth(), T0.getUTCDate() + offset, hour));

const dealsOf = (emulator: AmoCrmEmulator, receptionFieldId: number, receptionId: number) =>
  [...emulator.deals.leads.values()].filter((lead) =>
    lead.custom_fields_values?.some(
      (field) =>
        field.field_id === receptionFieldId && String(field.values[0]?.value) === String(receptionId),
    ),
  );

// deals-english.test.ts runs this suite again against an account with English system stage names.
describe(`receptions → deals (system stages: ${systemStagesInUse()})`, () => {
  let emulator: AmoCrmEmulator;
  let patients: MemorySource;
  let receptions: MemoryReceptions;
  let stack: DealStack;
  const receptionField = () =>
    stack.dealResolved.fields.find((field) => field.spec.key === 'reception_id')!.fieldId;
  const dealOf = (receptionId: number) => {
    const found = dealsOf(emulator, receptionField(), receptionId);
    assert.equal(found.length, 1, `reception ${receptionId} has ${found.length} deals`);
    return found[0]!;
  };
  const stage = (role: 'primary' | 'repeat', name: string) =>
    stack.dealResolved.pipelines[role].stages.find((candidate) => candidate.name === name)!.id;

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
        Sum: 2500,
      },
      { ReceptionId: 12, PatientId: 1, PlanStart: day(5) },
      { ReceptionId: 21, PatientId: 2, PlanStart: day(3) },
      { ReceptionId: 31, PatientId: 3, PlanStart: day(-2), CanceledAt: day(-3), CancelReason: 'Заболел' },
    ]);
    stack = await dealStack(emulator, patients, receptions);
  });
  afterEach(async () => {
    stack.store.close();
    await emulator.stop();
  });
  after(() => undefined);

  it('creates one deal per reception, linked to its contact, in the right pipeline and stage; a second run writes nothing', async () => {
    const first = await stack.both();
    assert.equal(first.outcome, 'ok');
    assert.equal(first.created, 4);
    const { primary, repeat } = stack.dealResolved.pipelines;
    const visit = dealOf(11);
    assert.deepEqual([visit.pipeline_id, visit.status_id], [primary.id, WON]);
    assert.equal(visit.price, 2500);
    const next = dealOf(12);
    assert.deepEqual([next.pipeline_id, next.status_id], [repeat.id, stage('repeat', 'Записан')]);
    assert.deepEqual(next.contacts, [{ id: stack.store.link('1')!.contactId, is_main: true }]);
    assert.deepEqual([dealOf(31).pipeline_id, dealOf(31).status_id], [primary.id, LOST]);
    assert.deepEqual(emulator.breaches, []);

    const writes = emulator.writeRequests().length;
    const again = await stack.both('deep');
    assert.equal(again.unchanged, 4);
    assert.equal(
      emulator.writeRequests().length,
      writes,
      'a deep sync of unchanged receptions writes nothing',
    );
  });

  it("a lead created by hand for a patient's contact is taken over by the first reception, not duplicated", async () => {
    await stack.run();
    const contactId = stack.store.link('2')!.contactId;
    const { primary } = stack.dealResolved.pipelines;
    const lead = emulator.deals.seed({ name: 'Звонок: хочет на чистку', contactId, pipelineId: primary.id });
    const result = await stack.deals();
    assert.equal(result.outcome, 'ok');
    assert.equal(result.linked, 1);
    const deal = dealOf(21);
    assert.equal(deal.id, lead.id, 'the manager’s lead carries the reception now');
    assert.equal(deal.status_id, stage('primary', 'Записан'));
    assert.equal(
      [...emulator.deals.leads.values()].filter((candidate) => candidate.contacts[0]?.id === contactId)
        .length,
      1,
    );
  });

  it("leaves a closed lead of the contact alone, and a manager's stage stands until IDENT changes", async () => {
    await stack.run();
    const contactId = stack.store.link('2')!.contactId;
    const { primary } = stack.dealResolved.pipelines;
    const closed = emulator.deals.seed({
      name: 'Старая сделка',
      contactId,
      pipelineId: primary.id,
      statusId: LOST,
    });
    await stack.deals();
    const deal = dealOf(21);
    assert.notEqual(deal.id, closed.id);

    // A manager moves the deal on by hand; IDENT has not changed: nothing moves it back.
    emulator.deals.move(deal.id, stage('primary', 'Пациент пришёл'));
    await stack.both();
    await stack.both('deep');
    assert.equal(dealOf(21).status_id, stage('primary', 'Пациент пришёл'));
    // A manager moves it back to an earlier stage: that stands too, until IDENT changes.
    emulator.deals.move(deal.id, stage('primary', 'Записан'));
    await stack.both('deep');
    assert.equal(dealOf(21).status_id, stage('primary', 'Записан'));
    // IDENT changes: the reception ended. The deal moves forward to won.
    receptions.touch(21, { ArrivedAt: day(3), EndedAt: day(3, 11), Sum: 1200 });
    await stack.both();
    assert.deepEqual([dealOf(21).status_id, dealOf(21).price], [WON, 1200]);
  });

  it('a cancelled reception moves its deal to the lost stage; the cancellation undone reopens it', async () => {
    await stack.both();
    receptions.touch(12, { CanceledAt: day(1), CancelReason: 'Перенос' });
    const result = await stack.both();
    assert.equal(result.moved, 1);
    const deal = dealOf(12);
    assert.equal(deal.status_id, LOST);
    const reason = stack.dealResolved.fields.find((field) => field.spec.key === 'cancel_reason')!.fieldId;
    assert.equal(
      deal.custom_fields_values?.find((field) => field.field_id === reason)?.values[0]?.value,
      'Перенос',
    );
    // Booked again in IDENT (the cancellation undone): the sync undoes its own lost (issue 19);
    // deal-rules.test.ts shows a manager's lost staying.
    receptions.touch(12, { CanceledAt: null, CancelReason: null });
    await stack.both();
    assert.equal(dealOf(12).status_id, stage('repeat', 'Записан'));
  });

  it('a stage an admin adds later is read at the next run: a deal a manager moved there is never moved back', async () => {
    await stack.both();
    const { primary } = stack.dealResolved.pipelines;
    const arrived = emulator.deals.status(primary.id, stage('primary', 'Пациент пришёл'))!;
    // An admin adds «Лечение начато» after «Пациент пришёл»; a manager moves the booking there.
    emulator.deals.addStatuses(primary.id, [{ name: 'Лечение начато', sort: arrived.sort + 5 }], '');
    const treatment = emulator.deals.pipelines
      .get(primary.id)!
      .statuses.find((status) => status.name === 'Лечение начато')!;
    emulator.deals.move(dealOf(21).id, treatment.id);
    // IDENT says "arrived": the deal is past that stage already and stays.
    receptions.touch(21, { ArrivedAt: day(3) });
    await stack.both();
    assert.equal(dealOf(21).status_id, treatment.id);
  });

  it('moves a later booking to the repeat pipeline when an earlier reception is completed', async () => {
    receptions.put({ ReceptionId: 22, PatientId: 2, PlanStart: day(30) });
    await stack.both();
    const { primary, repeat } = stack.dealResolved.pipelines;
    assert.equal(dealOf(22).pipeline_id, primary.id);
    receptions.touch(21, { ArrivedAt: day(3), EndedAt: day(3, 11) });
    await stack.both();
    assert.deepEqual([dealOf(22).pipeline_id, dealOf(22).status_id], [repeat.id, stage('repeat', 'Записан')]);
    assert.equal(dealOf(21).status_id, WON);
  });

  it('makes a deal again when a manager deleted it, and syncs a patient without a contact first', async () => {
    await stack.both();
    emulator.deals.delete(dealOf(21).id);
    const deep = await stack.both('deep');
    assert.equal(deep.created, 1);
    dealOf(21);
    patients.put(syntheticPatient(4, T0));
    receptions.put({ ReceptionId: 41, PatientId: 4, PlanStart: day(7) });
    // Only the deal run: the patient has no contact yet, so it is synced on the spot.
    const result = await stack.deals();
    assert.equal(result.created, 1);
    assert.equal(dealOf(41).contacts[0]!.id, stack.store.link('4')!.contactId);
  });

  it('with SYNC_RECEPTIONS=false a sync asks amoCRM nothing about deals; with it, deals follow the contacts', async () => {
    const env = {
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_LONG_LIVED_TOKEN: 'deal-switch-token',
      STATE_DIR: stack.stateDir,
      RATE_LIMIT_RPS: '7',
    };
    emulator.addLongLivedToken(env.AMOCRM_LONG_LIVED_TOKEN);
    const off = await openSyncContext(loadConfig(env, ['amocrm']), silentLogger(), {
      client: stack.client,
      source: patients,
      store: stack.store,
    });
    emulator.requests.length = 0;
    const contactsOnly = await off.syncAll('deep');
    assert.equal(contactsOnly.outcome, 'ok');
    assert.equal(contactsOnly.deals, undefined);
    assert.deepEqual(
      emulator.requests.filter((request) => request.path.startsWith('/api/v4/leads')),
      [],
      'nothing about deals is requested',
    );
    assert.equal(emulator.deals.leads.size, 0);

    const on = await openSyncContext(
      loadConfig({ ...env, SYNC_RECEPTIONS: 'true' }, ['amocrm']),
      silentLogger(),
      {
        client: stack.client,
        source: patients,
        receptions,
        store: stack.store,
      },
    );
    const both = await on.syncAll('incremental');
    assert.equal(both.deals?.outcome, 'ok');
    assert.equal(both.deals?.created, 4);
    const status = statusReport(loadConfig({ ...env, SYNC_RECEPTIONS: 'true' }));
    assert.match(status.text, /^deals: {12}4 linked; 0 open failure\(s\); 0 refused value\(s\)$/m);
    assert.match(status.text, /^last deal run: {4}initial .* ok: read 4, created 4/m);
    assert.match(statusReport(loadConfig(env)).text, /4 linked \(SYNC_RECEPTIONS is off now\)/);
  });

  it('test --reception-id shows the deal and where it stands, masks health data, and --dry-run writes nothing', async () => {
    await stack.both();
    const env = {
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_LONG_LIVED_TOKEN: 'reception-test-token',
      STATE_DIR: stack.stateDir,
      SYNC_RECEPTIONS: 'true',
    };
    emulator.addLongLivedToken(env.AMOCRM_LONG_LIVED_TOKEN);
    const config = loadConfig(env, ['amocrm']);
    const context = await openSyncContext(config, silentLogger(), {
      client: stack.client,
      source: patients,
      receptions,
      store: stack.store,
      // The day the test clinic lives in: reception 12 is still ahead (not yet a no-show).
      clock: { ...systemClock, now: () => T0.getTime() },
    });
    const deal = dealOf(12);
    emulator.deals.move(deal.id, stage('repeat', 'Пациент пришёл'));
    receptions.touch(12, { Services: 'Удаление зуба 36', Sum: 900 });
    const writes = emulator.writeRequests().length;
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => printed.push(chunk) > 0) as typeof process.stdout.write;
    let code: number;
    try {
      code = await testReception(context, {
        receptionId: '12',
        dryRun: true,
        shown: shownValue(false),
        stateDir: config.stateDir,
        timeZone: config.sync.timeZone,
        logger: silentLogger(),
      });
    } finally {
      process.stdout.write = write;
    }
    const text = printed.join('');
    assert.equal(code, 0, text);
    assert.equal(emulator.writeRequests().length, writes, '--dry-run writes nothing');
    assert.doesNotMatch(text, /Удаление/, 'services are health data: masked');
    assert.match(text, /Повторные пациенты \(repeat: a completed visit before\)/);
    assert.match(
      text,
      new RegExp(`amoCRM deal ${deal.id}: Повторные пациенты → Пациент пришёл; 2 field\\(s\\) differ`),
    );
    assert.match(
      text,
      /Stage: stays \(a manager moved it after the last write; it stays until the reception changes in IDENT\)/,
    );
    assert.match(text, /Result: the deal would be updated\./);
  });

  it('a create whose answer was lost is found, not sent twice', async () => {
    await stack.run();
    emulator.scriptFault({ method: 'POST', status: 502, applied: true });
    const result = await stack.deals();
    assert.equal(result.outcome, 'ok');
    assert.ok(
      emulator.requests.some(
        (request) => request.path === '/api/v4/leads' && request.fault === 'applied 5xx',
      ),
    );
    assert.equal(result.created, 4);
    for (const id of [11, 12, 21, 31]) dealOf(id);
    assert.equal(stack.store.deals.pendingCount(), 0);
    assert.equal(stack.store.deals.linkCount(), 4);
  });
});
