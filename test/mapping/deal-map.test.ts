import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_DEAL_MAPPING_FILE } from '../../src/config/config.ts';
import { parseDealMap } from '../../src/mapping/deal-map.ts';
import { toLeadCreate, toLeadUpdate } from '../../src/mapping/deal-mapper.ts';
import { MapFileError } from '../../src/mapping/load-map.ts';
import { checkPipelines, offlinePipelines } from '../../src/mapping/pipelines.ts';
import { shippedDealMap, shippedDealMapper } from '../helpers/deal-map.ts';

const shippedText = readFileSync(DEFAULT_DEAL_MAPPING_FILE, 'utf8');

/** A reception as the mssql driver hands it over: datetime columns as Dates whose UTC fields are the wall clock. */
const reception = (overrides: Record<string, unknown> = {}) => ({
  ReceptionId: 501,
  PatientId: '000042',
  PlanStart: new Date(Date.UTC(2026, 10, 24, 10, 30)),
  PlanEnd: new Date(Date.UTC(2026, 10, 24, 11, 0)),
  Doctor: 'Зубов Пётр Ильич',
  Chair: 'Кресло 2',
  Branch: 'Клиника на Ленина',
  CanceledAt: null,
  EndedAt: null,
  ArrivedAt: null,
  CancelReason: null,
  Services: 'Осмотр, Чистка',
  Sum: 3499.6,
  PreviousVisitAt: null,
  ChangedAt: new Date(Date.UTC(2026, 10, 20, 9)),
  ...overrides,
});

function problemsOf(text: string): string[] {
  try {
    parseDealMap(text, 'deal-map.yaml');
  } catch (error) {
    assert.ok(error instanceof MapFileError, String(error));
    return [...error.problems];
  }
  assert.fail('the map was accepted');
}

describe('the deal map', () => {
  it('ships with the reception id, the two pipelines and a state for every reception', () => {
    const map = shippedDealMap();
    assert.equal(map.fields.find((field) => field.key === 'reception_id')?.apiOnly, true);
    assert.equal(map.states.at(-1)!.when, undefined);
    assert.deepEqual(
      map.fields.map((field) => field.key),
      ['reception_id', 'visit_at', 'doctor', 'services', 'branch', 'chair', 'cancel_reason'],
    );
  });

  it('maps a booked first visit into the primary pipeline, named by its time and doctor', () => {
    const { mapper, resolved } = shippedDealMapper();
    const outcome = mapper(reception());
    assert.ok(outcome.ok);
    const { deal } = outcome;
    assert.equal(deal.receptionId, '501');
    assert.equal(deal.patientId, '42');
    assert.equal(deal.document.name, 'Приём 24.11 10:30 — Зубов Пётр Ильич');
    assert.equal(deal.document.price, 3500);
    assert.equal(deal.placement.role, 'primary');
    assert.equal(deal.placement.state, 'booked');
    assert.equal(deal.placement.pipelineId, resolved.pipelines.primary.id);
    assert.equal(deal.placement.stage.name, 'Записан');
    const visit = deal.document.fields.find((field) => field.key === 'visit_at');
    assert.equal(visit?.value, '2026-11-24T10:30:00+03:00');
  });

  it('puts a visit after a completed one into the repeat pipeline, and reads the state in order', () => {
    const { mapper } = shippedDealMapper();
    const earlier = new Date(Date.UTC(2026, 5, 1, 9));
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ArrivedAt: new Date() }, 'arrived', 'Пациент пришёл'],
      [{ ArrivedAt: new Date(), EndedAt: new Date() }, 'ended', 'Успешно реализовано'],
      [{ EndedAt: new Date(), CanceledAt: new Date() }, 'cancelled', 'Закрыто и не реализовано'],
    ];
    for (const [overrides, state, stage] of cases) {
      const outcome = mapper(reception({ ...overrides, PreviousVisitAt: earlier }));
      assert.ok(outcome.ok);
      assert.equal(outcome.deal.placement.role, 'repeat');
      assert.equal(outcome.deal.placement.state, state);
      assert.equal(outcome.deal.placement.stage.name, stage);
      assert.equal(outcome.deal.placement.stage.closed, state !== 'arrived');
    }
  });

  it('leaves no dangling separator when the doctor is unknown, and falls back when the name is empty', () => {
    const { mapper } = shippedDealMapper();
    const noDoctor = mapper(reception({ Doctor: null }));
    assert.ok(noDoctor.ok);
    assert.equal(noDoctor.deal.document.name, 'Приём 24.11 10:30');
    const nothing = mapper(reception({ Doctor: null, PlanStart: null }));
    assert.ok(nothing.ok);
    assert.equal(nothing.deal.document.name, 'Приём IDENT 501');
  });

  it('refuses a row without a reception or a patient id', () => {
    const { mapper } = shippedDealMapper();
    assert.deepEqual(mapper(reception({ ReceptionId: null })).ok, false);
    const orphan = mapper(reception({ PatientId: 0 }));
    assert.ok(!orphan.ok);
    assert.match(orphan.reason, /no PatientId/);
  });

  it('creates a deal linked to its contact in its stage; an update moves it only when told', () => {
    const { mapper } = shippedDealMapper();
    const outcome = mapper(reception({ Services: null }));
    assert.ok(outcome.ok);
    const create = toLeadCreate(outcome.deal, 777);
    assert.deepEqual(create._embedded, { contacts: [{ id: 777, is_main: true }] });
    assert.equal(create.status_id, outcome.deal.placement.stage.id);
    assert.ok(create.custom_fields_values!.every((field) => field.values !== null));
    const stay = toLeadUpdate(outcome.deal, 9, undefined);
    assert.equal(stay.status_id, undefined);
    assert.equal(stay.pipeline_id, undefined);
    assert.ok(stay.custom_fields_values!.some((field) => field.values === null));
    const move = toLeadUpdate(outcome.deal, 9, { pipelineId: 1, statusId: 142 });
    assert.deepEqual([move.pipeline_id, move.status_id], [1, 142]);
  });

  it('refuses a map whose last state has a condition, or whose stage no pipeline has', () => {
    const conditional = shippedText.replace(
      / {2}- state: booked\n {4}stage: Записан/,
      '  - state: booked\n    when: PlanStart\n    stage: Записан',
    );
    assert.match(problemsOf(conditional).join('\n'), /last state must have no `when`/);
    const unknown = shippedText.replace('stage: Пациент пришёл', 'stage: Пришёл');
    assert.match(problemsOf(unknown).join('\n'), /"Пришёл" is not a stage of the primary pipeline/);
    const noId = shippedText.replace('key: reception_id', 'key: reception');
    assert.match(problemsOf(noId).join('\n'), /key reception_id/);
  });

  it('checks the pipelines by name and lists the stages an account lacks', () => {
    const map = shippedDealMap();
    const pipelines = offlinePipelines(map);
    assert.ok(checkPipelines(map, pipelines).every((check) => check.status === 'ok'));
    pipelines[1]!._embedded!.statuses = pipelines[1]!._embedded!.statuses!.filter(
      (status) => status.name !== 'Записан',
    );
    const [primary, repeat] = checkPipelines(map, pipelines.concat());
    assert.equal(primary!.status, 'ok');
    assert.equal(repeat!.status, 'missing stages');
    assert.deepEqual(repeat!.missingStages, ['Записан']);
    assert.equal(checkPipelines(map, [pipelines[0]!])[1]!.status, 'missing');
  });
});
