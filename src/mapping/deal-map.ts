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
    }),
    states: z.array(stateRule).min(1, { error: 'must list at least one state' }),
    fields: z.array(customField).min(1, { error: 'must list at least the reception ID field' }),
  })
  .superRefine((map, ctx) => {
    uniqueFields(map.fields, ctx);
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
    if (last?.when !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['states', map.states.length - 1],
        message: 'the last state must have no `when`: it is the state of every other reception',
      });
    }
    const names = new Set<string>();
    map.states.forEach((rule, index) => {
      if (names.has(rule.state))
        ctx.addIssue({
          code: 'custom',
          path: ['states', index, 'state'],
          message: `repeats state ${rule.state}`,
        });
      names.add(rule.state);
      for (const role of PIPELINE_ROLES) {
        const stage = stageOf(rule, role);
        const known = [...map.pipelines[role].stages, 'won', 'lost'];
        if (!known.includes(stage) && closedStageOf(stage) === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['states', index, 'stage'],
            message: `"${stage}" is not a stage of the ${role} pipeline (${known.join(', ')})`,
          });
      }
    });
  });

export type DealMap = z.infer<typeof dealMapSchema>;
export type StateRule = DealMap['states'][number];

/** The stage a state puts a deal in, in the pipeline of this role. */
export const stageOf = (rule: Pick<StateRule, 'stage'>, role: PipelineRole): string =>
  typeof rule.stage === 'string' ? rule.stage : rule.stage[role];

export function loadDealMapFile(path: string): DealMap {
  return parseYamlMap(readMapText(path, 'DEAL_MAPPING_FILE'), path, dealMapSchema);
}

export const parseDealMap = (text: string, shownName = 'deal map'): DealMap =>
  parseYamlMap(text, shownName, dealMapSchema);
