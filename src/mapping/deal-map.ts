import { z } from 'zod';
import { closedStageOf } from './closed-stages.ts';
import { parseYamlMap, readMapText } from './load-map.ts';
import { alias, customField, template, uniqueFields } from './schema.ts';

/**
 * The deal map (mapping/deal-map.yaml): how an IDENT reception becomes an amoCRM deal. As
 * declarative as the contact map: the deal's name, its price, its custom fields (same shape as a
 * contact map's fields), the two pipelines and their open stages by name, and the rules that give a
 * reception its state and its stage: an open stage by name, or `won` / `lost` (amoCRM's system
 * stages, found by id whatever the account calls them).
 */

export const PIPELINE_ROLES = ['primary', 'repeat'] as const;
export type PipelineRole = (typeof PIPELINE_ROLES)[number];

const stageName = z.string().trim().min(1, { error: 'must be a stage name as amoCRM shows it' });

const pipelineSpec = z.strictObject({
  name: z.string().trim().min(1, { error: 'must be the pipeline name as amoCRM shows it' }),
  /**
   * Its open stages in order, as `fields --create --pipelines` creates them. amoCRM adds the won
   * and lost stages to every pipeline itself; a won or lost name listed here is passed over.
   */
  stages: z.array(stageName).min(1, { error: 'must list at least one open stage' }),
});

const stageForRoles = z.union([stageName, z.strictObject({ primary: stageName, repeat: stageName })]);

const stateRule = z.strictObject({
  /** A short name for the state, used in logs and in the state store. */
  state: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, { error: 'must be a short lower-case identifier (a-z, 0-9, _)' }),
  /** The rule matches when this column of the reception query is not empty; absent: always. */
  when: alias.optional(),
  /**
   * With `when`: only when that column's text holds one of these words (letter case and ё/е
   * aside) — a cancel reason that means the patient did not come, say.
   */
  matches: z.array(z.string().trim().min(1)).min(1).optional(),
  /**
   * The rule matches once this date column of the reception query lies `hours` hours in the past
   * (on the clinic's clock): a visit still booked after its planned end is a no-show. Nothing
   * changes in IDENT then; the change selection picks such visits by time.
   */
  overdue: z.strictObject({ column: alias, hours: z.number().positive().max(720) }).optional(),
  /** The stage of that state: one name (or `won` / `lost`) for both pipelines, or one per pipeline. */
  stage: stageForRoles,
});

export const dealMapSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1' }),
    deal: z.strictObject({
      name: z.strictObject({
        template,
        fallback: template,
        maxLength: z.number().int().positive().max(255).default(255),
      }),
      /** The column of the reception's sum (rubles); the deal's price is it rounded to whole rubles. */
      price: z.strictObject({ source: alias }).optional(),
    }),
    pipelines: z.strictObject({
      primary: pipelineSpec,
      repeat: pipelineSpec,
      /** The deal goes to the repeat pipeline when this column is not empty (an earlier completed visit). */
      repeatWhen: z.strictObject({ present: alias }),
      /**
       * A clinic chain: a clinic (by its key in SOURCES) whose visits go to pipelines of its own;
       * the clinics not listed share the two above. The states' stage names hold in every pipeline.
       */
      bySource: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_-]{0,15}$/, { error: 'must be a source key of SOURCES' }),
          z.strictObject({ primary: pipelineSpec, repeat: pipelineSpec }),
        )
        .optional(),
    }),
    states: z.array(stateRule).min(1, { error: 'must list at least one state' }),
    /**
     * A reception deleted in IDENT: its open deal is closed as lost (never deleted), with `reason`
     * written to the text field of key `field`. Absent: "удалён в IDENT" in `cancel_reason`, if mapped.
     */
    deleted: z
      .strictObject({
        reason: z.string().trim().min(1, { error: 'must be the text the closed deal carries' }),
        field: z.string().trim().min(1).optional(),
      })
      .optional(),
    fields: z.array(customField).min(1, { error: 'must list at least the reception ID field' }),
  })
  .superRefine((map, ctx) => {
    uniqueFields(map.fields, ctx);
    const reasonKey = map.deleted?.field;
    if (reasonKey !== undefined && !map.fields.some((field) => field.key === reasonKey && isText(field.type)))
      ctx.addIssue({
        code: 'custom',
        path: ['deleted', 'field'],
        message: `must be the key of a text field of this map (${reasonKey} is not one)`,
      });
    if (
      !map.fields.some((field) => field.key === 'reception_id' && field.required && field.type === 'text')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['fields'],
        message: 'must hold a required text field with key reception_id: it links a deal to its reception',
      });
    }
    const last = map.states.at(-1);
    if (last?.when !== undefined || last?.overdue !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['states', map.states.length - 1],
        message: 'the last state must have no `when` nor `overdue`: it is the state of every other reception',
      });
    }
    const stages = new Map<string, string>();
    map.states.forEach((rule, index) => {
      if (rule.matches && !rule.when)
        ctx.addIssue({
          code: 'custom',
          path: ['states', index, 'matches'],
          message: '`matches` needs `when`: the column whose text it looks in',
        });
      if (rule.overdue && rule.when)
        ctx.addIssue({
          code: 'custom',
          path: ['states', index, 'overdue'],
          message: 'a rule has either `when` or `overdue`; write two rules of the same state for both',
        });
      // A state may have several rules (a no-show by its cancel reason, and by time), all with one stage.
      const stage = JSON.stringify(rule.stage);
      if (stages.has(rule.state) && stages.get(rule.state) !== stage)
        ctx.addIssue({
          code: 'custom',
          path: ['states', index, 'state'],
          message: `repeats state ${rule.state} with another stage; one state has one stage`,
        });
      stages.set(rule.state, stage);
      for (const set of pipelineSets(map))
        for (const role of PIPELINE_ROLES) {
          const stage = stageOf(rule, role);
          const known = [...set.pipelines[role].stages, 'won', 'lost'];
          if (!known.includes(stage) && closedStageOf(stage) === undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['states', index, 'stage'],
              message: `"${stage}" is not a stage of the ${role} pipeline "${set.pipelines[role].name}" (${known.join(', ')})`,
            });
        }
    });
  });

export type DealMap = z.infer<typeof dealMapSchema>;

/**
 * The map once per set of pipelines: the shared one (`source` undefined), then one per clinic with
 * pipelines of its own (`pipelines.bySource`), each a map whose two pipelines are that clinic's.
 */
export function pipelineSets(
  map: Pick<DealMap, 'pipelines'>,
): { source: string | undefined; pipelines: DealMap['pipelines'] }[] {
  return [
    { source: undefined, pipelines: map.pipelines },
    ...Object.entries(map.pipelines.bySource ?? {}).map(([source, own]) => ({
      source,
      pipelines: { ...map.pipelines, primary: own.primary, repeat: own.repeat },
    })),
  ];
}

const isText = (type: string) => type === 'text' || type === 'textarea';

/** What a deal of a reception deleted in IDENT is closed with: the text, and the field key it goes to. */
export function deletedRule(map: DealMap): { reason: string; field: string | undefined } {
  const field =
    map.deleted?.field ??
    map.fields.find((candidate) => candidate.key === 'cancel_reason' && isText(candidate.type))?.key;
  return { reason: map.deleted?.reason ?? 'удалён в IDENT', field };
}
export type StateRule = DealMap['states'][number];

/** The stage a state puts a deal in, in the pipeline of this role. */
export const stageOf = (rule: Pick<StateRule, 'stage'>, role: PipelineRole): string =>
  typeof rule.stage === 'string' ? rule.stage : rule.stage[role];

export function loadDealMapFile(path: string): DealMap {
  return parseYamlMap(readMapText(path, 'DEAL_MAPPING_FILE'), path, dealMapSchema);
}

/** The hours of the map's no-show rule (the first `overdue`), for the change selection; null: none. */
export const overdueHours = (map: DealMap): number | null =>
  map.states.find((rule) => rule.overdue)?.overdue?.hours ?? null;

export const parseDealMap = (text: string, shownName = 'deal map'): DealMap =>
  parseYamlMap(text, shownName, dealMapSchema);
