import { LOST_STATUS_ID, type Pipeline, type PipelineStatus, WON_STATUS_ID } from '../amocrm/types.ts';
import { CLOSED_STAGE_IDS, closedStageOf, isClosedStatus, normaliseStageName } from './closed-stages.ts';
import { type DealMap, PIPELINE_ROLES, type PipelineRole, pipelineSets, stageOf } from './deal-map.ts';

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

/** One set of the two pipelines: the shared one, or a chain clinic's own. */
export interface PipelineSet {
  readonly primary: ResolvedPipeline;
  readonly repeat: ResolvedPipeline;
  /** The stage of each state in each pipeline. */
  target(state: string, role: PipelineRole): ResolvedStage;
}

export interface ResolvedPipelines extends PipelineSet {
  /** The pipelines of a clinic of a chain (its own, or the shared ones); the shared ones for undefined. */
  of(source: string | undefined): PipelineSet;
  /** Every pipeline id the map uses. */
  ids(): number[];
  /** The ids of the two pipelines of the set this pipeline belongs to (the shared ones, or a clinic's own). */
  setIds(pipelineId: number): number[];
  /** The pipeline of this amoCRM id, when it is one of the map's. */
  byId(pipelineId: number): ResolvedPipeline | undefined;
  /**
   * The account's pipelines read again (a stage an admin added, renamed or re-ordered since): every
   * holder of this object sees the new stages. True when anything changed; throws
   * PipelinesNotReadyError, keeping the stages it had, when a pipeline or stage the map needs is gone.
   */
  refresh(pipelines: readonly Pipeline[]): boolean;
}

export interface PipelineCheck {
  role: PipelineRole;
  /** The clinic whose own pipeline this is (pipelines.bySource); undefined for the shared ones. */
  source?: string;
  name: string;
  status: 'ok' | 'missing' | 'ambiguous' | 'missing stages';
  found?: Pipeline;
  missingStages: string[];
  /** One sentence for a person: what is wrong and how to fix it. */
  detail: string;
}

const CLOSED_RANK = Number.MAX_SAFE_INTEGER;
const normalise = normaliseStageName;

/**
 * The open stages a pipeline must hold for the map: its listed stages and those the states name.
 * Won and lost are not among them: every pipeline has them, whatever their names.
 */
export function neededStages(map: DealMap, role: PipelineRole): string[] {
  const names = [...map.pipelines[role].stages, ...map.states.map((rule) => stageOf(rule, role))];
  return [...new Set(names)].filter((name) => closedStageOf(name) === undefined);
}

/** A pipeline's open stages: what a map's stage name is matched against. */
const openStatuses = (pipeline: Pipeline): PipelineStatus[] =>
  (pipeline._embedded?.statuses ?? []).filter((status) => !isClosedStatus(status.id));

/**
 * Each of the map's pipelines against the account's: found by name, with every stage it needs —
 * the two shared ones, then each chain clinic's own (a name listed twice is checked once).
 */
export function checkPipelines(map: DealMap, pipelines: readonly Pipeline[]): PipelineCheck[] {
  const seen = new Set<string>();
  return pipelineSets(map).flatMap((set) =>
    checkSet({ ...map, pipelines: set.pipelines }, pipelines)
      .filter((check) => {
        const name = normalise(check.name);
        if (seen.has(name)) return false;
        seen.add(name);
        return true;
      })
      .map((check) => (set.source === undefined ? check : { ...check, source: set.source })),
  );
}

function checkSet(map: DealMap, pipelines: readonly Pipeline[]): PipelineCheck[] {
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
    const held = new Set(openStatuses(found).map((status) => normalise(status.name)));
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
      `the deal pipelines are not ready (${wrong.map((check) => `"${check.name}" ${check.status}${check.missingStages.length > 0 ? `: ${check.missingStages.join(', ')}` : ''}`).join('; ')}); \`ident-sync fields\` shows them`,
    );
    this.name = 'PipelinesNotReadyError';
    this.checks = checks;
  }
}

function resolvePipeline(role: PipelineRole, pipeline: Pipeline): ResolvedPipeline {
  const stages = (pipeline._embedded?.statuses ?? []).map((status) => {
    const closed = isClosedStatus(status.id);
    return { id: status.id, name: status.name, rank: closed ? CLOSED_RANK : status.sort, closed };
  });
  // amoCRM lists both closing stages in every pipeline; should one be left out, it is still there.
  for (const id of [WON_STATUS_ID, LOST_STATUS_ID])
    if (!stages.some((stage) => stage.id === id))
      stages.push({ id, name: id === WON_STATUS_ID ? 'won' : 'lost', rank: CLOSED_RANK, closed: true });
  return { role, id: pipeline.id, name: pipeline.name, stages };
}

/** The stage a map's stage name means in this pipeline: won and lost by id, the others by name. */
function stageNamed(pipeline: ResolvedPipeline, name: string): ResolvedStage {
  const closed = closedStageOf(name);
  if (closed) return pipeline.stages.find((stage) => stage.id === CLOSED_STAGE_IDS[closed])!;
  const wanted = normalise(name);
  return pipeline.stages.find((stage) => !stage.closed && normalise(stage.name) === wanted)!;
}

interface PipelineIds {
  primary: ResolvedPipeline;
  repeat: ResolvedPipeline;
  targets: Map<string, ResolvedStage>;
}

function pipelineIds(map: DealMap, pipelines: readonly Pipeline[]): PipelineIds {
  const checks = checkSet(map, pipelines);
  if (checks.some((check) => check.status !== 'ok'))
    throw new PipelinesNotReadyError(checkPipelines(map, pipelines));
  const [primary, repeat] = checks.map((check) => resolvePipeline(check.role, check.found!)) as [
    ResolvedPipeline,
    ResolvedPipeline,
  ];
  const targets = new Map<string, ResolvedStage>();
  for (const rule of map.states)
    for (const pipeline of [primary, repeat])
      targets.set(`${rule.state}/${pipeline.role}`, stageNamed(pipeline, stageOf(rule, pipeline.role)));
  return { primary, repeat, targets };
}

/** Pipeline and stage ids for the map; throws when a pipeline or stage is missing. */
export function resolvePipelines(map: DealMap, pipelines: readonly Pipeline[]): ResolvedPipelines {
  const idsOf = (fresh: readonly Pipeline[]) =>
    new Map(
      pipelineSets(map).map((set) => [set.source, pipelineIds({ ...map, pipelines: set.pipelines }, fresh)]),
    );
  let sets = idsOf(pipelines);
  const setOf = (source: string | undefined): PipelineSet => {
    const key = source !== undefined && sets.has(source) ? source : undefined;
    return {
      get primary() {
        return sets.get(key)!.primary;
      },
      get repeat() {
        return sets.get(key)!.repeat;
      },
      target: (state, role) => {
        const stage = sets.get(key)!.targets.get(`${state}/${role}`);
        if (!stage) throw new Error(`the deal map has no state ${state}`);
        return stage;
      },
    };
  };
  const all = () => [...sets.values()].flatMap((ids) => [ids.primary, ids.repeat]);
  const shared = setOf(undefined);
  return {
    get primary() {
      return shared.primary;
    },
    get repeat() {
      return shared.repeat;
    },
    target: shared.target,
    of: setOf,
    ids: () => [...new Set(all().map((pipeline) => pipeline.id))],
    setIds: (pipelineId) => {
      const set = [...sets.values()].find(
        (ids) => ids.primary.id === pipelineId || ids.repeat.id === pipelineId,
      );
      return set ? [set.primary.id, set.repeat.id] : [];
    },
    byId: (pipelineId) => all().find((pipeline) => pipeline.id === pipelineId),
    refresh(fresh) {
      const next = idsOf(fresh);
      const shape = (value: Map<string | undefined, PipelineIds>) =>
        JSON.stringify([...value.values()].map((ids) => [ids.primary, ids.repeat]));
      const changed = shape(next) !== shape(sets);
      sets = next;
      return changed;
    },
  };
}

/** The pipelines as a map would create them when the account lacks them (offline use: tests, dry runs). */
export function offlinePipelines(map: DealMap): Pipeline[] {
  let statusId = 80_000_001;
  const names = new Set<string>();
  const wanted = pipelineSets(map).flatMap((set) =>
    PIPELINE_ROLES.map((role) => set.pipelines[role]).filter((spec) => {
      if (names.has(normalise(spec.name))) return false;
      names.add(normalise(spec.name));
      return true;
    }),
  );
  return wanted.map((spec, index) => ({
    id: 9_000_001 + index,
    name: spec.name,
    _embedded: {
      statuses: [
        ...spec.stages
          .filter((name) => closedStageOf(name) === undefined)
          .map((name, position) => ({
            id: statusId++,
            name,
            sort: (position + 1) * 10,
          })),
        { id: WON_STATUS_ID, name: 'Успешно реализовано', sort: 10000 },
        { id: LOST_STATUS_ID, name: 'Закрыто и не реализовано', sort: 11000 },
      ],
    },
  }));
}
