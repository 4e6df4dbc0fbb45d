import type { CustomFieldsApi, NewField } from '../amocrm/custom-fields.ts';
import { type CatalogueField, checkFields, type FieldCheck, type FieldOwner } from '../mapping/catalogue.ts';
import type { CustomFieldSpec } from '../mapping/schema.ts';

/** A map's custom fields: the contact map's, or the deal map's. */
type FieldMap = { fields: readonly CustomFieldSpec[] };

export interface FieldSetupReport {
  /** The state after any creation: one row per field of the map. */
  checks: FieldCheck[];
  created: string[];
  enumsAdded: { field: string; values: string[] }[];
  catalogue: CatalogueField[];
}

export async function inspectFields(
  map: FieldMap,
  api: CustomFieldsApi,
  owner: FieldOwner = 'contact',
): Promise<FieldSetupReport> {
  const catalogue = await api.list();
  return { checks: checkFields(map, catalogue, owner), created: [], enumsAdded: [], catalogue };
}

/**
 * Creates the fields the map needs and the account lacks, with the map's types and choices (the
 * IDENT id field read-only in the interface), and adds missing choices to existing select fields
 * — keeping their current values. Fields of the wrong type are left for a person to decide.
 * Running it again creates nothing.
 */
export async function createMissingFields(
  map: FieldMap,
  api: CustomFieldsApi,
  owner: FieldOwner = 'contact',
): Promise<FieldSetupReport> {
  const before = await inspectFields(map, api, owner);
  const missing = before.checks.filter((check) => check.status === 'missing');
  const created = await api.create(missing.map((check) => newField(check.spec)));

  const enumsAdded: FieldSetupReport['enumsAdded'] = [];
  for (const check of before.checks.filter((c) => c.status === 'missing enum values')) {
    const existing = check.found!.enums ?? [];
    const top = Math.max(0, ...existing.map((item) => item.sort ?? 0));
    await api.setEnums(check.found!, [
      ...existing.map((item) => ({ id: item.id, value: item.value, sort: item.sort ?? 0 })),
      ...check.missingChoices.map((value, index) => ({ value, sort: top + (index + 1) * 10 })),
    ]);
    enumsAdded.push({ field: check.spec.name, values: check.missingChoices });
  }
  if (created.length === 0 && enumsAdded.length === 0) return before;
  const after = await inspectFields(map, api, owner);
  return { ...after, created: created.map((field) => field.name), enumsAdded };
}

function newField(spec: CustomFieldSpec): NewField {
  return {
    name: spec.name,
    type: spec.type,
    ...(spec.apiOnly ? { is_api_only: true } : {}),
    ...(spec.choices
      ? { enums: spec.choices.map((value, index) => ({ value, sort: (index + 1) * 10 })) }
      : {}),
  };
}
