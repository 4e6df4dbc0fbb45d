import { z } from 'zod';

/** amoCRM field types the map can fill, and the transforms that make a value of each. */
export const FIELD_TYPES = [
  'text',
  'textarea',
  'numeric',
  'checkbox',
  'select',
  'date',
  'date_time',
  'birthday',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const TRANSFORMS = [
  'text',
  'phone',
  'date',
  'datetime',
  'age',
  'number',
  'money',
  'percent',
  'integer',
  'boolean',
  'enum',
] as const;
export type TransformName = (typeof TRANSFORMS)[number];

export const TRANSFORMS_BY_TYPE: Record<FieldType, readonly TransformName[]> = {
  text: ['text', 'phone'],
  textarea: ['text', 'phone'],
  numeric: ['number', 'money', 'percent', 'integer', 'age'],
  checkbox: ['boolean'],
  select: ['enum'],
  date: ['date'],
  birthday: ['date'],
  date_time: ['datetime', 'date'],
};

export const DEFAULT_TRANSFORM: Record<FieldType, TransformName> = {
  text: 'text',
  textarea: 'text',
  numeric: 'number',
  checkbox: 'boolean',
  select: 'enum',
  date: 'date',
  birthday: 'date',
  date_time: 'datetime',
};

/** amoCRM's own limits; the map may set lower ones. */
export const MAX_LENGTH: Partial<Record<FieldType, number>> = { text: 256, textarea: 4000 };

/**
 * How the values of a contact shared by patients of several clinics (a chain's one person) make
 * one value: `latest` — the clinic whose patient changed last (person fields: names, phones, birth
 * date); `priority` — the first source in SOURCES that has a value; `sum` (visits, sums), `min`
 * (first visit), `max` (last visit), `list` (card numbers, branches: each clinic's, listed).
 */
export const COMBINE_RULES = ['latest', 'priority', 'sum', 'min', 'max', 'list'] as const;
export type CombineRule = (typeof COMBINE_RULES)[number];
const COMBINE_FITS: Record<CombineRule, readonly FieldType[]> = {
  latest: FIELD_TYPES,
  priority: FIELD_TYPES,
  sum: ['numeric'],
  min: ['numeric', 'date', 'date_time', 'birthday'],
  max: ['numeric', 'date', 'date_time', 'birthday'],
  list: ['text', 'textarea'],
};

export const alias = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
  error: 'must be a column alias of the patient query (letters, digits, _)',
});
export const template = z.string().min(1, { error: 'must not be empty' });

export const customField = z
  .strictObject({
    key: z.string().regex(/^[a-z][a-z0-9_]*$/, {
      error: 'must be a short lower-case identifier (a-z, 0-9, _), used in logs and reports',
    }),
    name: z.string().trim().min(1, { error: 'must be the field name as shown in amoCRM' }),
    type: z.enum(FIELD_TYPES, { error: `must be one of ${FIELD_TYPES.join(', ')}` }),
    id: z.number().int().positive().optional(),
    source: alias,
    transform: z.enum(TRANSFORMS, { error: `must be one of ${TRANSFORMS.join(', ')}` }).optional(),
    required: z.boolean().default(false),
    apiOnly: z.boolean().default(false),
    maxLength: z.number().int().positive().optional(),
    choices: z.array(z.string().trim().min(1)).min(1).optional(),
    values: z.record(z.string(), z.string()).optional(),
    default: z.string().optional(),
    when: z.array(z.strictObject({ present: alias, value: z.string() })).optional(),
    combine: z.enum(COMBINE_RULES, { error: `must be one of ${COMBINE_RULES.join(', ')}` }).optional(),
  })
  .superRefine((field, ctx) => {
    if (field.combine && !COMBINE_FITS[field.combine].includes(field.type)) {
      ctx.addIssue({
        code: 'custom',
        path: ['combine'],
        message: `${field.combine} does not fit a ${field.type} field; it fits ${COMBINE_FITS[field.combine].join(', ')}`,
      });
    }
    const transform = field.transform ?? DEFAULT_TRANSFORM[field.type];
    if (!TRANSFORMS_BY_TYPE[field.type].includes(transform)) {
      ctx.addIssue({
        code: 'custom',
        path: ['transform'],
        message: `${transform} does not fit a ${field.type} field; use ${TRANSFORMS_BY_TYPE[field.type].join(' or ')}`,
      });
    }
    const limit = MAX_LENGTH[field.type];
    if (field.maxLength !== undefined && (limit === undefined || field.maxLength > limit)) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxLength'],
        message: limit ? `must be at most ${limit} for a ${field.type} field` : `applies to text fields only`,
      });
    }
    if (field.type === 'select') {
      if (!field.choices) {
        ctx.addIssue({
          code: 'custom',
          path: ['choices'],
          message: 'a select field needs its list of choices',
        });
        return;
      }
      const choices = new Set(field.choices);
      for (const [code, label] of Object.entries(field.values ?? {})) {
        if (!choices.has(label)) {
          ctx.addIssue({
            code: 'custom',
            path: ['values', code],
            message: `"${label}" is not one of the choices`,
          });
        }
      }
      if (field.default !== undefined && !choices.has(field.default)) {
        ctx.addIssue({
          code: 'custom',
          path: ['default'],
          message: `"${field.default}" is not one of the choices`,
        });
      }
      field.when?.forEach((rule, index) => {
        if (!choices.has(rule.value)) {
          ctx.addIssue({
            code: 'custom',
            path: ['when', index],
            message: `"${rule.value}" is not one of the choices`,
          });
        }
      });
    } else {
      for (const key of ['choices', 'values', 'default', 'when'] as const) {
        if (field[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'applies to select fields only' });
        }
      }
    }
  });

const multitextSource = z.strictObject({
  source: alias,
  enum: z.string().regex(/^[A-Z]+$/, { error: 'must be an enum code such as MOB, WORK, PRIV' }),
});

export const mapSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1' }),
    dates: z
      .strictObject({
        placeholderUntil: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date written YYYY-MM-DD' })
          .default('1900-01-01'),
        maxAge: z.number().int().positive().default(130),
      })
      .prefault({}),
    contact: z.strictObject({
      name: z.strictObject({
        template,
        fallback: template,
        maxLength: z.number().int().positive().max(255).default(255),
      }),
      first_name: z.strictObject({ source: alias }).optional(),
      last_name: z.strictObject({ source: alias }).optional(),
      phones: z.array(multitextSource).default([]),
      emails: z.array(multitextSource).default([]),
    }),
    fields: z.array(customField).min(1, { error: 'must list at least the IDENT patient ID field' }),
    /**
     * A clinic chain's rule for one person, one contact: a patient of one clinic joins a contact of
     * another clinic only when all of these agree — the same normalised phone and a compatible name
     * always (a bare id, or a phone alone, would put two people on one contact), and the birth date
     * where both have one unless `birth_date` is left out.
     */
    chain: z
      .strictObject({
        joinOn: z.array(z.enum(['phone', 'name', 'birth_date'])).default(['phone', 'name', 'birth_date']),
      })
      .default({ joinOn: ['phone', 'name', 'birth_date'] }),
  })
  .superRefine((map, ctx) => {
    for (const needed of ['phone', 'name'] as const)
      if (!map.chain.joinOn.includes(needed))
        ctx.addIssue({
          code: 'custom',
          path: ['chain', 'joinOn'],
          message: `must include ${needed}: without it two people could share one contact`,
        });
    uniqueFields(map.fields, ctx);
    if (!map.fields.some((field) => field.key === 'ident_id' && field.required)) {
      ctx.addIssue({
        code: 'custom',
        path: ['fields'],
        message: 'must hold a required text field with key ident_id: it links a contact to its patient',
      });
    }
  });

/** No two fields of a map share a key, a name or an id. */
export function uniqueFields(
  fields: readonly { key: string; name: string; id?: number | undefined }[],
  ctx: z.RefinementCtx,
): void {
  const seen = {
    key: new Map<string, number>(),
    name: new Map<string, number>(),
    id: new Map<number, number>(),
  };
  fields.forEach((field, index) => {
    for (const property of ['key', 'name', 'id'] as const) {
      const value = field[property];
      if (value === undefined) continue;
      const table = seen[property] as Map<typeof value, number>;
      const first = table.get(value);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', index, property],
          message: `repeats the ${property} of fields[${first}]`,
        });
      } else table.set(value, index);
    }
  });
}

export type ContactMap = z.infer<typeof mapSchema>;
export type CustomFieldSpec = ContactMap['fields'][number];
