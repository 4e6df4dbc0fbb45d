/** Issue 19, item 10: a visit nobody came to leaves "Записан", by time or by its cancel reason. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_DEAL_MAPPING_FILE } from '../../src/config/config.ts';
import { parseDealMap } from '../../src/mapping/deal-map.ts';
import { MapFileError } from '../../src/mapping/load-map.ts';
import { decideStage } from '../../src/streams/deals/placement.ts';
import { shippedDealMapper } from '../helpers/deal-map.ts';

// The shipped mapper's clock: 2026-11-22 09:00 UTC = 12:00 in Moscow.
const wall = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, day, hour, minute));
const visit = (overrides: Record<string, unknown> = {}) => ({
  ReceptionId: 7,
  PatientId: 42,
  PlanStart: wall(22, 8),
  PlanEnd: wall(22, 8, 30),
  CanceledAt: null,
  EndedAt: null,
  ArrivedAt: null,
  CancelReason: null,
  PreviousVisitAt: null,
  ...overrides,
});

describe('no-shows', () => {
  const { mapper, resolved } = shippedDealMapper();
  const placed = (row: Record<string, unknown>) => {
    const outcome = mapper(row);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.reason);
    return outcome.deal.placement;
  };

  it('a visit still booked 3 hours after its planned end (clinic clock) is a no-show: «Не пришёл»', () => {
    // Planned end 08:30 Moscow; now 12:00 Moscow: 3 h 30 min past.
    const late = placed(visit());
    assert.equal(late.state, 'no_show');
    assert.equal(late.stage.name, 'Не пришёл');
    // Ended 09:30 Moscow: 2 h 30 min past, not yet.
    assert.equal(placed(visit({ PlanEnd: wall(22, 9, 30) })).state, 'booked');
    assert.equal(placed(visit({ PlanStart: wall(25, 9), PlanEnd: wall(25, 10) })).state, 'booked');
  });

  it('an arrival, an end or a cancellation recorded is no no-show', () => {
    assert.equal(placed(visit({ ArrivedAt: wall(22, 8) })).state, 'arrived');
    assert.equal(placed(visit({ EndedAt: wall(22, 8, 30) })).state, 'ended');
    assert.equal(placed(visit({ CanceledAt: wall(21, 18), CancelReason: 'Заболел' })).state, 'cancelled');
  });

  it('a cancel reason that says the patient did not come goes to the same rule', () => {
    for (const reason of ['Неявка', 'Пациент не пришёл', 'не явился без предупреждения', 'НЕ ПРИШЛА'])
      assert.equal(placed(visit({ CanceledAt: wall(22, 9), CancelReason: reason })).state, 'no_show', reason);
    assert.equal(placed(visit({ CanceledAt: wall(22, 9), CancelReason: 'Перенос' })).state, 'cancelled');
  });

  it('the no-show stage lies between booked and arrived: a booked deal moves on to it, a late arrival moves on from it', () => {
    const noShow = placed(visit());
    const booked = resolved.pipelines.target('booked', 'primary');
    const toNoShow = decideStage(
      noShow,
      { state: 'booked', role: 'primary', pipelineId: noShow.pipelineId, statusId: booked.id },
      undefined,
      resolved,
    );
    assert.deepEqual(toNoShow.move, { pipelineId: noShow.pipelineId, statusId: noShow.stage.id });
    const arrived = placed(visit({ ArrivedAt: wall(22, 11) }));
    const fromNoShow = decideStage(
      arrived,
      { state: 'no_show', role: 'primary', pipelineId: noShow.pipelineId, statusId: noShow.stage.id },
      undefined,
      resolved,
    );
    assert.deepEqual(fromNoShow.move, { pipelineId: arrived.pipelineId, statusId: arrived.stage.id });
  });

  it('the map refuses a no-show rule it cannot apply, naming the entry', () => {
    const text = readFileSync(DEFAULT_DEAL_MAPPING_FILE, 'utf8');
    const problems = (changed: string) => {
      try {
        parseDealMap(changed, 'deal-map.yaml');
      } catch (error) {
        assert.ok(error instanceof MapFileError);
        return error.problems.join('\n');
      }
      return '';
    };
    assert.equal(problems(text), '');
    assert.match(
      problems(
        text.replace('    stage: Не пришёл\n  - state: booked', '    stage: Записан\n  - state: booked'),
      ),
      /repeats state no_show with another stage/,
    );
    assert.match(problems(text.replace('    when: CancelReason\n', '')), /`matches` needs `when`/);
  });
});
