import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Pipeline } from '../../src/amocrm/types.ts';
import { DEFAULT_DEAL_MAPPING_FILE } from '../../src/config/config.ts';
import { parseDealMap } from '../../src/mapping/deal-map.ts';
import type { ResolvedDealMap } from '../../src/mapping/deal-mapper.ts';
import { checkPipelines, offlinePipelines, resolvePipelines } from '../../src/mapping/pipelines.ts';
import { decideStage } from '../../src/streams/deals/placement.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';

/** The map's pipelines as an account has them, the system stages under other names. */
function accountPipelines(names: { won: string; lost: string }): Pipeline[] {
  const pipelines = offlinePipelines(shippedDealMap());
  for (const pipeline of pipelines)
    for (const status of pipeline._embedded!.statuses!) {
      if (status.id === 142) status.name = names.won;
      if (status.id === 143) status.name = names.lost;
    }
  return pipelines;
}

const ENGLISH = { won: 'Closed - won', lost: 'Closed - lost' };
const RENAMED = { won: 'Лечение завершено', lost: 'Отказ' };

describe('won and lost by id, stages read again', () => {
  for (const names of [ENGLISH, RENAMED])
    it(`finds won and lost by id whatever the account calls them ("${names.won}")`, () => {
      const map = shippedDealMap();
      const pipelines = accountPipelines(names);
      assert.ok(checkPipelines(map, pipelines).every((check) => check.status === 'ok'));
      const resolved = resolvePipelines(map, pipelines);
      for (const role of ['primary', 'repeat'] as const) {
        assert.equal(resolved.target('ended', role).id, 142);
        assert.equal(resolved.target('cancelled', role).id, 143);
        assert.equal(resolved.target('ended', role).name, names.won, 'shown under the account’s name');
      }
    });

  it('keeps a deal map that names won and lost by their former Russian names working', () => {
    const shipped = readFileSync(DEFAULT_DEAL_MAPPING_FILE, 'utf8');
    const former = shipped
      .replace('stage: won', 'stage: Успешно реализовано')
      .replace('stage: lost', 'stage: Закрыто и не реализовано');
    assert.notEqual(former, shipped);
    const map = parseDealMap(former);
    const resolved = resolvePipelines(map, accountPipelines(ENGLISH));
    assert.equal(resolved.target('ended', 'primary').id, 142);
    assert.equal(resolved.target('cancelled', 'repeat').id, 143);
  });

  it('reads a stage added since, and never moves a deal out of a stage it does not know', () => {
    const map = shippedDealMap();
    const pipelines = accountPipelines(ENGLISH);
    const resolved: ResolvedDealMap = { map, fields: [], pipelines: resolvePipelines(map, pipelines) };
    const primary = resolved.pipelines.primary;
    const arrived = resolved.pipelines.target('arrived', 'primary');
    const placement = { state: 'arrived', role: 'primary' as const, pipelineId: primary.id, stage: arrived };
    const link = { state: 'booked', role: 'primary' as const, pipelineId: primary.id, statusId: 1 };
    // An admin adds «Лечение начато» after «Пациент пришёл»; a manager moves the deal there.
    const added = { id: 55_555, name: 'Лечение начато', sort: arrived.rank + 5 };
    pipelines[0]!._embedded!.statuses!.push(added);
    const where = { pipelineId: primary.id, statusId: added.id };
    const unread = decideStage(placement, link, where, resolved);
    assert.equal(unread.move, undefined, 'a stage not read yet is never left');
    assert.match(unread.reason!, /a stage the sync does not know/);
    assert.equal(resolved.pipelines.refresh(pipelines), true);
    assert.equal(resolved.pipelines.refresh(pipelines), false, 'nothing changed since');
    const read = decideStage(placement, link, where, resolved);
    assert.equal(read.move, undefined);
    assert.match(read.reason!, /past "Пациент пришёл" already/);
  });
});
