import { HttpError, problem, requestIdOf, validationFailure } from './common.ts';
import type { ValidationError } from './validation.ts';

/**
 * The deal pipelines of the emulated account, as amoCRM's docs ("Воронки и этапы сделок",
 * leads_pipelines) have them, so that a client which agrees only with itself fails here:
 * - every pipeline has three system stages: the incoming-leads ("unsorted", type 1) stage, won
 *   (142) and lost (143); the names of 142 and 143 vary ("Closed - won" / "Closed - lost" on
 *   kommo.com and amocrm.com accounts; a pipeline's create may name them, by their id);
 * - a create must carry `name`, `sort`, `is_main` and `is_unsorted_on` ("Обязательный параметр");
 *   its other stages are given only then, each with a name and a sort;
 * - a stage's colour is one of "Доступные цвета статусов"; amoCRM's own default `#99ccff` of the
 *   first pipeline is not among them.
 */

export const WON = 142;
export const LOST = 143;

/** amoCRM's stage palette ("Доступные цвета статусов", leads_pipelines). */
export const STAGE_PALETTE = [
  '#fffeb2',
  '#fffd7f',
  '#fff000',
  '#ffeab2',
  '#ffdc7f',
  '#ffce5a',
  '#ffdbdb',
  '#ffc8c8',
  '#ff8f92',
  '#d6eaff',
  '#c1e0ff',
  '#98cbff',
  '#ebffb1',
  '#deff81',
  '#87f2c0',
  '#f9deff',
  '#f3beff',
  '#ccc8f9',
  '#eb93ff',
  '#f2f3f4',
  '#e6e8ea',
] as const;

/** What the account calls its system stages: a Russian account's, or a kommo.com/amocrm.com one's. */
export type SystemStageNames = 'russian' | 'english';

const SYSTEM_NAMES: Record<SystemStageNames, { unsorted: string; won: string; lost: string }> = {
  russian: { unsorted: 'Неразобранное', won: 'Успешно реализовано', lost: 'Закрыто и не реализовано' },
  english: { unsorted: 'Incoming leads', won: 'Closed - won', lost: 'Closed - lost' },
};

export interface StoredStatus {
  id: number;
  name: string;
  sort: number;
  is_editable: boolean;
  pipeline_id: number;
  color: string;
  type: number;
  account_id: number;
}

export interface StoredPipeline {
  id: number;
  name: string;
  sort: number;
  is_main: boolean;
  is_unsorted_on: boolean;
  is_archive: boolean;
  account_id: number;
  statuses: StoredStatus[];
}

interface NewStage {
  name: string;
  sort: number;
  color?: string;
}

const missing = (path: string): ValidationError => ({
  code: 'FieldMissing',
  path,
  detail: 'This field is missing.',
});
const wrongType = (path: string, type: string): ValidationError => ({
  code: 'InvalidType',
  path,
  detail: `This value should be of type ${type}.`,
});

/** A stage given to a create or an add: a name, a sort, a colour of the palette when one is given. */
function stageErrors(raw: unknown, path: string): ValidationError[] {
  const stage = (raw ?? {}) as { name?: unknown; sort?: unknown; color?: unknown };
  const errors: ValidationError[] = [];
  if (typeof stage.name !== 'string' || stage.name.trim() === '')
    errors.push({ code: 'FieldMissing', path: `${path}name`, detail: 'This value should not be blank.' });
  if (stage.sort === undefined) errors.push(missing(`${path}sort`));
  else if (!Number.isInteger(stage.sort)) errors.push(wrongType(`${path}sort`, 'int'));
  if (stage.color !== undefined && !(STAGE_PALETTE as readonly unknown[]).includes(stage.color))
    errors.push({
      code: 'NotSupportedChoice',
      path: `${path}color`,
      detail: 'The value you selected is not a valid choice.',
    });
  return errors;
}

export class PipelineBook {
  readonly pipelines = new Map<number, StoredPipeline>();
  private nextPipelineId = 7_000_001;
  private nextStatusId = 70_000_001;
  private readonly accountId: number;
  private readonly names: (typeof SYSTEM_NAMES)[SystemStageNames];

  constructor(accountId: number, systemStageNames: SystemStageNames = 'russian') {
    this.accountId = accountId;
    this.names = SYSTEM_NAMES[systemStageNames];
    // A new account has one pipeline with amoCRM's default stages.
    this.addPipeline(
      'Воронка',
      ['Первичный контакт', 'Переговоры', 'Принимают решение', 'Согласование договора'],
      { isMain: true, unsorted: true },
    );
  }

  /** A pipeline as an admin makes it: the incoming-leads stage, the open stages in order, won and lost. */
  addPipeline(
    name: string,
    stages: readonly (string | NewStage)[],
    options: {
      isMain?: boolean;
      unsorted?: boolean;
      sort?: number;
      /** Names for 142 and 143 given in the create; the account's by default. */
      wonName?: string;
      lostName?: string;
    } = {},
  ): StoredPipeline {
    const id = this.nextPipelineId++;
    const status = (statusId: number, statusName: string, sort: number, color: string, type = 0) => ({
      id: statusId,
      name: statusName,
      sort,
      is_editable: type === 0 && statusId !== WON && statusId !== LOST,
      pipeline_id: id,
      color,
      type,
      account_id: this.accountId,
    });
    const open = stages
      .map((stage, index) => (typeof stage === 'string' ? { name: stage, sort: index } : stage))
      .sort((a, b) => a.sort - b.sort);
    const statuses: StoredStatus[] = [
      status(this.nextStatusId++, this.names.unsorted, 10, '#c1c1c1', 1),
      ...open.map((stage, index) =>
        status(
          this.nextStatusId++,
          stage.name,
          (index + 2) * 10,
          stage.color ?? STAGE_PALETTE[index % STAGE_PALETTE.length]!,
        ),
      ),
      status(WON, options.wonName ?? this.names.won, 10000, '#CCFF66'),
      status(LOST, options.lostName ?? this.names.lost, 11000, '#D5D8DB'),
    ];
    const pipeline: StoredPipeline = {
      id,
      name,
      sort: options.sort ?? 100 * (this.pipelines.size + 1),
      is_main: options.isMain ?? false,
      is_unsorted_on: options.unsorted ?? false,
      is_archive: false,
      account_id: this.accountId,
      statuses,
    };
    this.pipelines.set(id, pipeline);
    return pipeline;
  }

  list(origin: string): [number, unknown] {
    return [
      200,
      {
        _total_items: this.pipelines.size,
        _links: { self: { href: `${origin}/api/v4/leads/pipelines` } },
        _embedded: {
          pipelines: [...this.pipelines.values()].map((pipeline) => presentPipeline(pipeline, origin)),
        },
      },
    ];
  }

  create(body: unknown, origin: string): [number, unknown] {
    if (!Array.isArray(body)) throw new HttpError(400, problem(400, 'Request body must be an array'));
    const failures: { request_id: string; errors: ValidationError[] }[] = [];
    body.forEach((raw: unknown, index) => {
      const errors = this.pipelineErrors(raw);
      if (errors.length > 0) failures.push({ request_id: requestIdOf(raw, index), errors });
    });
    if (failures.length > 0) throw validationFailure(failures);
    const created = body.map(
      (raw: {
        name: string;
        is_main: boolean;
        sort: number;
        is_unsorted_on: boolean;
        _embedded: { statuses: (NewStage & { id?: number })[] };
      }) => {
        const statuses = raw._embedded.statuses;
        const named = (id: number) => statuses.find((stage) => stage.id === id)?.name;
        return this.addPipeline(
          raw.name,
          statuses.filter((stage) => stage.id !== WON && stage.id !== LOST),
          {
            isMain: raw.is_main,
            unsorted: raw.is_unsorted_on,
            sort: raw.sort,
            wonName: named(WON),
            lostName: named(LOST),
          },
        );
      },
    );
    return [200, { _embedded: { pipelines: created.map((pipeline) => presentPipeline(pipeline, origin)) } }];
  }

  private pipelineErrors(raw: unknown): ValidationError[] {
    const item = (raw ?? {}) as Record<string, unknown> & { _embedded?: { statuses?: unknown } };
    const errors: ValidationError[] = [];
    if (typeof item.name !== 'string' || item.name.trim() === '')
      errors.push({ code: 'FieldMissing', path: 'name', detail: 'This value should not be blank.' });
    else if ([...this.pipelines.values()].some((pipeline) => pipeline.name === item.name))
      errors.push({ code: 'NotUnique', path: 'name', detail: 'Pipeline with this name already exists.' });
    if (item.sort === undefined) errors.push(missing('sort'));
    else if (!Number.isInteger(item.sort)) errors.push(wrongType('sort', 'int'));
    for (const key of ['is_main', 'is_unsorted_on']) {
      if (item[key] === undefined) errors.push(missing(key));
      else if (typeof item[key] !== 'boolean') errors.push(wrongType(key, 'bool'));
    }
    const statuses = item._embedded?.statuses;
    if (!Array.isArray(statuses) || statuses.length === 0) errors.push(missing('_embedded.statuses'));
    else
      statuses.forEach((stage: unknown, index) => {
        const path = `_embedded.statuses.${index}.`;
        const id = (stage as { id?: unknown } | null)?.id;
        if (id === WON || id === LOST) {
          if (typeof (stage as { name?: unknown }).name !== 'string') errors.push(missing(`${path}name`));
        } else errors.push(...stageErrors(stage, path));
      });
    return errors;
  }

  /** Stages added to an existing pipeline, before its won and lost stages. */
  addStatuses(pipelineId: number, body: unknown, origin: string): [number, unknown] {
    const pipeline = this.pipelines.get(pipelineId);
    if (!pipeline) throw new HttpError(404, problem(404, 'Pipeline not found'));
    if (!Array.isArray(body)) throw new HttpError(400, problem(400, 'Request body must be an array'));
    const failures: { request_id: string; errors: ValidationError[] }[] = [];
    body.forEach((raw: unknown, index) => {
      const errors = stageErrors(raw, '');
      if (errors.length > 0) failures.push({ request_id: requestIdOf(raw, index), errors });
    });
    if (failures.length > 0) throw validationFailure(failures);
    const added = body.map((raw: NewStage, index) => {
      const status: StoredStatus = {
        id: this.nextStatusId++,
        name: raw.name,
        sort: Math.min(raw.sort, 9999),
        is_editable: true,
        pipeline_id: pipelineId,
        color: raw.color ?? STAGE_PALETTE[index % STAGE_PALETTE.length]!,
        type: 0,
        account_id: this.accountId,
      };
      pipeline.statuses.push(status);
      return status;
    });
    pipeline.statuses.sort((a, b) => a.sort - b.sort);
    return [
      200,
      {
        _links: { self: { href: `${origin}/api/v4/leads/pipelines/${pipelineId}/statuses` } },
        _embedded: { statuses: added },
      },
    ];
  }

  /** The stage with this id in this pipeline (won and lost are in every pipeline). */
  status(pipelineId: number, statusId: number): StoredStatus | undefined {
    return this.pipelines.get(pipelineId)?.statuses.find((status) => status.id === statusId);
  }

  main(): StoredPipeline {
    return (
      [...this.pipelines.values()].find((pipeline) => pipeline.is_main) ?? [...this.pipelines.values()][0]!
    );
  }
}

/** The first stage a new deal goes to when none is given: the first after "unsorted". */
export function firstStage(pipeline: StoredPipeline): StoredStatus {
  return (
    pipeline.statuses.find((status) => status.type === 0 && status.id !== WON && status.id !== LOST) ??
    pipeline.statuses[0]!
  );
}

function presentPipeline(pipeline: StoredPipeline, origin: string) {
  const { statuses, ...rest } = pipeline;
  return {
    ...rest,
    _links: { self: { href: `${origin}/api/v4/leads/pipelines/${pipeline.id}` } },
    _embedded: { statuses: statuses.map((status) => ({ ...status, pipeline_id: pipeline.id })) },
  };
}
