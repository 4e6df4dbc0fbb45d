import { LOST_STATUS_ID, type Pipeline, WON_STATUS_ID } from '../amocrm/types.ts';
import {
  type DealMap,
  LOST_STAGE,
  PIPELINE_ROLES,
  type PipelineRole,
  stageOf,
  WON_STAGE,
} from './deal-map.ts';

/** A stage as the sync uses it: the order in its pipeline decides what "forward" means. */
export interface ResolvedStage {
  id: number;
  name: string;
  /** Open stages by their sort; won and lost above every open stage, and equal to each other. */
  rank: number;
  closed: boolean;
}

export interface ResolvedPipeline {
  role: PipelineRole;
  id: number;
  name: string;
  stages: readonly ResolvedStage[];
}

export interface ResolvedPipelines {
  primary: ResolvedPipeline;
  repeat: ResolvedPipeline;
  /** The stage of each state in each pipeline. */
  target(state: string, role: PipelineRole): ResolvedStage;
  /** The pipeline of this amoCRM id, when it is one of the two. */
  byId(pipelineId: number): ResolvedPipeline | undefined;
}

export interface PipelineCheck {
  role: PipelineRole;
  name: string;
  status: 'ok' | 'missing' | 'ambiguous' | 'missing stages';
  found?: Pipeline;
  missingStages: string[];
  /** One sentence for a person: what is wrong and how to fix it. */
  detail: string;
}

const CLOSED_RANK = Number.MAX_SAFE_INTEGER;
const normalise = (name: string) => name.trim().toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ');

/** The stages a pipeline must hold for the map: its listed open stages and those the states name. */
function neededStages(map: DealMap, role: PipelineRole): string[] {
  const names = [...map.pipelines[role].stages, ...map.states.map((rule) => stageOf(rule, role))];
  return [...new Set(names)];
}

/** Each of the map's two pipelines against the account's: found by name, with every stage it needs. */
export function checkPipelines(map: DealMap, pipelines: readonly Pipeline[]): PipelineCheck[] {
  return PIPELINE_ROLES.map((role) => {
    const name = map.pipelines[role].name;
    const candidates = pipelines.filter((pipeline) => normalise(pipeline.name) === normalise(name));
    if (candidates.length === 0)
      return {
        role,
        name,
        status: 'missing',
        missingStages: neededStages(map, role),
        detail: 'not found; `ident-sync fields --create --pipelines` creates it with its stages',
      };
    if (candidates.length > 1)
      return {
        role,
        name,
        status: 'ambiguous',
        missingStages: [],
        detail: `${candidates.length} pipelines have this name; rename one in amoCRM`,
      };
    const found = candidates[0]!;
    const held = new Set((found._embedded?.statuses ?? []).map((status) => normalise(status.name)));
    const missingStages = neededStages(map, role).filter((stage) => !held.has(normalise(stage)));
    if (missingStages.length > 0)
      return {
        role,
        name,
        status: 'missing stages',
        found,
        missingStages,
        detail: `lacks the stages ${missingStages.join(', ')}; \`ident-sync fields --create --pipelines\` adds them`,
      };
    return { role, name, status: 'ok', found, missingStages: [], detail: 'ok' };
  });
}

export class PipelinesNotReadyError extends Error {
  readonly checks: readonly PipelineCheck[];
  constructor(checks: readonly PipelineCheck[]) {
    const wrong = checks.filter((check) => check.status !== 'ok');
    super(
      `the deal pipelines are not ready (${wrong.map((check) => `"${check.name}" ${check.status}`).join(', ')}); \`ident-sync fields\` shows them`,
    );
    this.name = 'PipelinesNotReadyError';
    this.checks = checks;
  }
}

function resolvePipeline(role: PipelineRole, pipeline: Pipeline): ResolvedPipeline {
  const stages = (pipeline._embedded?.statuses ?? []).map((status) => {
    const closed = status.id === WON_STATUS_ID || status.id === LOST_STATUS_ID;
    return { id: status.id, name: status.name, rank: closed ? CLOSED_RANK : status.sort, closed };
  });
  return { role, id: pipeline.id, name: pipeline.name, stages };
}

/** Pipeline and stage ids for the map; throws when a pipeline or stage is missing. */
export function resolvePipelines(map: DealMap, pipelines: readonly Pipeline[]): ResolvedPipelines {
  const checks = checkPipelines(map, pipelines);
  if (checks.some((check) => check.status !== 'ok')) throw new PipelinesNotReadyError(checks);
  const [primary, repeat] = checks.map((check) => resolvePipeline(check.role, check.found!)) as [
    ResolvedPipeline,
    ResolvedPipeline,
  ];
  const targets = new Map<string, ResolvedStage>();
  for (const rule of map.states) {
    for (const pipeline of [primary, repeat]) {
      const wanted = normalise(stageOf(rule, pipeline.role));
      targets.set(
        `${rule.state}/${pipeline.role}`,
        pipeline.stages.find((stage) => normalise(stage.name) === wanted)!,
      );
    }
  }
  return {
    primary,
    repeat,
    target: (state, role) => {
      const stage = targets.get(`${state}/${role}`);
      if (!stage) throw new Error(`the deal map has no state ${state}`);
      return stage;
    },
    byId: (pipelineId) => [primary, repeat].find((pipeline) => pipeline.id === pipelineId),
  };
}

/** The pipelines as a map would create them when the account lacks them (offline use: tests, dry runs). */
export function offlinePipelines(map: DealMap): Pipeline[] {
  let statusId = 80_000_001;
  return PIPELINE_ROLES.map((role, index) => ({
    id: 9_000_001 + index,
    name: map.pipelines[role].name,
    _embedded: {
      statuses: [
        ...map.pipelines[role].stages.map((name, position) => ({
          id: statusId++,
          name,
          sort: (position + 1) * 10,
        })),
        { id: WON_STATUS_ID, name: WON_STAGE, sort: 10000 },
        { id: LOST_STATUS_ID, name: LOST_STAGE, sort: 11000 },
      ],
    },
  }));
}
