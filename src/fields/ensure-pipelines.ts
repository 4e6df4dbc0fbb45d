import { LOST_STATUS_ID, WON_STATUS_ID } from '../amocrm/types.ts';
import type { NewPipeline, PipelinesApi } from '../amocrm/pipelines.ts';
import { closedStageOf } from '../mapping/closed-stages.ts';
import { type DealMap, PIPELINE_ROLES, pipelineSets } from '../mapping/deal-map.ts';
import { normaliseStageName } from '../mapping/closed-stages.ts';
import { checkPipelines, neededStages, type PipelineCheck } from '../mapping/pipelines.ts';

export interface PipelineSetupReport {
  checks: PipelineCheck[];
  /** Pipelines created, and stages added to existing ones. */
  created: string[];
  stagesAdded: { pipeline: string; stages: string[] }[];
}

/** Stage colours from amoCRM's palette (amoCRM's docs, leads_pipelines: "Доступные цвета статусов"; amocrm-api-php StatusModel::COLORS). */
const COLORS = ['#fffeb2', '#98cbff', '#87f2c0', '#f9deff', '#ffdc7f', '#d6eaff'];

export async function inspectPipelines(map: DealMap, api: PipelinesApi): Promise<PipelineSetupReport> {
  return { checks: checkPipelines(map, await api.list()), created: [], stagesAdded: [] };
}

/**
 * Creates the map's pipelines the account lacks, with their open stages in order (amoCRM adds won
 * and lost), and adds missing stages to existing ones before their won and lost stages. Running it
 * again creates nothing. Two pipelines of one name are left for a person to sort out.
 */
export async function createMissingPipelines(map: DealMap, api: PipelinesApi): Promise<PipelineSetupReport> {
  const before = await inspectPipelines(map, api);
  const missing = before.checks.filter((check) => check.status === 'missing');
  const stagesOf = (names: readonly string[], from: number) =>
    names
      .filter((name) => closedStageOf(name) === undefined)
      .map((name, index) => ({ name, sort: from + (index + 1) * 10, color: COLORS[index % COLORS.length]! }));
  const fresh: NewPipeline[] = missing.map((check) => ({
    name: check.name,
    sort: 100 + PIPELINE_ROLES.indexOf(check.role) * 10,
    is_main: false,
    is_unsorted_on: false,
    _embedded: { statuses: stagesOf(setOf(map, check).pipelines[check.role].stages, 0) },
  }));
  await api.create(fresh);
  const stagesAdded: PipelineSetupReport['stagesAdded'] = [];
  for (const check of before.checks.filter((candidate) => candidate.status === 'missing stages')) {
    const open = (check.found!._embedded?.statuses ?? []).filter(
      (status) => status.id !== WON_STATUS_ID && status.id !== LOST_STATUS_ID,
    );
    const top = Math.max(0, ...open.map((status) => status.sort));
    const added = placeMissing(
      neededStages(setOf(map, check), check.role),
      open,
      stagesOf(check.missingStages, top),
    );
    await api.addStages(check.found!.id, added);
    stagesAdded.push({ pipeline: check.name, stages: added.map((stage) => stage.name) });
  }
  if (fresh.length === 0 && stagesAdded.length === 0) return before;
  const after = await inspectPipelines(map, api);
  return { ...after, created: fresh.map((pipeline) => pipeline.name), stagesAdded };
}

/** The map with the pipelines of the check's set (the shared ones, or a chain clinic's own). */
const setOf = (map: DealMap, check: PipelineCheck): DealMap => ({
  ...map,
  pipelines: pipelineSets(map).find((set) => set.source === check.source)?.pipelines ?? map.pipelines,
});

/**
 * Missing stages go where the map puts them among the stages the pipeline has: a stage the map
 * lists between two it holds gets a sort between theirs (an upgrade adding «Не пришёл» puts it
 * before «Пациент пришёл», so a late arrival still moves forward). Where there is no room, or the
 * pipeline orders its stages otherwise, it stays at the end (`fallback`).
 */
function placeMissing<Stage extends { name: string; sort: number }>(
  order: readonly string[],
  open: readonly { name: string; sort: number }[],
  fallback: Stage[],
): Stage[] {
  const held = new Map(open.map((status) => [normaliseStageName(status.name), status.sort]));
  const sortOf = (name: string | undefined) =>
    name === undefined ? undefined : held.get(normaliseStageName(name));
  const placed = new Map<string, number>();
  for (let index = 0; index < order.length;) {
    if (sortOf(order[index]) !== undefined) {
      index += 1;
      continue;
    }
    let end = index;
    while (end < order.length && sortOf(order[end]) === undefined) end += 1;
    const before = sortOf(order[index - 1]);
    const after = sortOf(order[end]);
    const run = order.slice(index, end);
    if (before !== undefined && after !== undefined && after - before > run.length) {
      const step = Math.floor((after - before) / (run.length + 1));
      run.forEach((name, k) => placed.set(normaliseStageName(name), before + step * (k + 1)));
    }
    index = end;
  }
  return fallback.map((stage) => {
    const sort = placed.get(normaliseStageName(stage.name));
    return sort === undefined ? stage : { ...stage, sort };
  });
}
