import type { ContactMap, CustomFieldSpec, FieldType } from './schema.ts';

/** A contact custom field as amoCRM lists it (`GET /api/v4/contacts/custom_fields`). */
export interface CatalogueField {
  id: number;
  name: string;
  code?: string | null;
  type: string;
  is_api_only?: boolean;
  enums?: { id: number; value: string; sort?: number }[] | null;
}

/** amoCRM types that can hold what the map sends for each of its types. */
const ACCEPTED_TYPES: Record<FieldType, readonly string[]> = {
  text: ['text', 'textarea'],
  textarea: ['textarea', 'text'],
  numeric: ['numeric'],
  checkbox: ['checkbox'],
  select: ['select', 'radiobutton'],
  date: ['date', 'birthday'],
  birthday: ['birthday', 'date'],
  date_time: ['date_time'],
};

export type FieldStatus =
  'ok' | 'missing' | 'wrong type' | 'missing enum values' | 'ambiguous' | 'unknown id';

export interface FieldCheck {
  spec: CustomFieldSpec;
  status: FieldStatus;
  found?: CatalogueField;
  missingChoices: string[];
  /** One sentence for a person: what is wrong and how to fix it. */
  detail: string;
}

export interface ResolvedField {
  spec: CustomFieldSpec;
  fieldId: number;
  /** amoCRM's type of the field found (may differ from the map's, e.g. birthday for date). */
  amoType: string;
  enumIds: ReadonlyMap<string, number>;
}

export interface ResolvedMap {
  map: ContactMap;
  fields: readonly ResolvedField[];
}

/** The amoCRM field that carries the IDENT patient id: the link between a patient and a contact. */
export function identFieldId(resolved: ResolvedMap): number {
  const field = resolved.fields.find((candidate) => candidate.spec.key === 'ident_id');
  if (!field) throw new Error('the map has no ident_id field');
  return field.fieldId;
}

const normaliseName = (name: string) => name.trim().toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ');

/** Which entity's fields a catalogue holds: named so in every message. */
export type FieldOwner = 'contact' | 'deal';

export function checkFields(
  map: { fields: readonly CustomFieldSpec[] },
  catalogue: readonly CatalogueField[],
  owner: FieldOwner = 'contact',
): FieldCheck[] {
  const byName = new Map<string, CatalogueField[]>();
  for (const field of catalogue) {
    const key = normaliseName(field.name);
    byName.set(key, [...(byName.get(key) ?? []), field]);
  }
  return map.fields.map((spec) => {
    let found: CatalogueField | undefined;
    if (spec.id !== undefined) {
      found = catalogue.find((field) => field.id === spec.id);
      if (!found) {
        return {
          spec,
          status: 'unknown id',
          missingChoices: [],
          detail: `no ${owner} field has id ${spec.id}; fix or remove the id in the map`,
        };
      }
    } else {
      const candidates = byName.get(normaliseName(spec.name)) ?? [];
      if (candidates.length > 1) {
        return {
          spec,
          status: 'ambiguous',
          missingChoices: [],
          detail: `${candidates.length} fields have this name (ids ${candidates.map((f) => f.id).join(', ')}); put the right id into the map`,
        };
      }
      found = candidates[0];
      if (!found) {
        return {
          spec,
          status: 'missing',
          missingChoices: [],
          detail: 'not found; `ident-sync fields --create` creates it',
        };
      }
    }
    if (!ACCEPTED_TYPES[spec.type].includes(found.type)) {
      return {
        spec,
        status: 'wrong type',
        found,
        missingChoices: [],
        detail: `is ${found.type} in amoCRM, expected ${spec.type}; change the field's type in amoCRM or point the map at another field`,
      };
    }
    const present = new Set((found.enums ?? []).map((item) => normaliseName(item.value)));
    const missingChoices = (spec.choices ?? []).filter((choice) => !present.has(normaliseName(choice)));
    if (missingChoices.length > 0) {
      return {
        spec,
        status: 'missing enum values',
        found,
        missingChoices,
        detail: `lacks the values ${missingChoices.join(', ')}; \`ident-sync fields --create\` adds them`,
      };
    }
    return { spec, status: 'ok', found, missingChoices: [], detail: 'ok' };
  });
}

export class FieldsNotReadyError extends Error {
  readonly checks: readonly FieldCheck[];
  constructor(checks: readonly FieldCheck[], owner: FieldOwner = 'contact') {
    const wrong = checks.filter((check) => check.status !== 'ok');
    const shown = wrong.slice(0, 3).map((check) => `"${check.spec.name}" ${check.status}`);
    super(
      `${wrong.length} of the map's ${checks.length} amoCRM ${owner} fields are not ready (${shown.join(', ')}${wrong.length > 3 ? ', …' : ''}); \`ident-sync fields\` shows them all`,
    );
    this.name = 'FieldsNotReadyError';
    this.checks = checks;
  }
}

/** Field ids and enum ids for every field of the map; throws when any field is not usable. */
export function resolveFields(map: ContactMap, catalogue: readonly CatalogueField[]): ResolvedMap {
  return { map, fields: resolveFieldList(map.fields, catalogue, 'contact') };
}

export function resolveFieldList(
  specs: readonly CustomFieldSpec[],
  catalogue: readonly CatalogueField[],
  owner: FieldOwner,
): ResolvedField[] {
  const checks = checkFields({ fields: specs }, catalogue, owner);
  // A missing option is not a missing field: only the patients with that choice lose it, each
  // listed as refused (the mapper sends it by its label), and `fields` still reports it.
  const usable = (check: FieldCheck) => check.status === 'ok' || check.status === 'missing enum values';
  if (!checks.every(usable)) throw new FieldsNotReadyError(checks, owner);
  return checks.map((check) => {
    const found = check.found!;
    const enumIds = new Map<string, number>();
    for (const choice of check.spec.choices ?? []) {
      const match = (found.enums ?? []).find((item) => normaliseName(item.value) === normaliseName(choice));
      if (match) enumIds.set(choice, match.id);
    }
    return { spec: check.spec, fieldId: found.id, amoType: found.type, enumIds };
  });
}

/**
 * A catalogue in which every field of the map exists as the map expects, with stand-in ids: for
 * mapping rows without an amoCRM account (test-db's sample, dry runs, tests).
 */
export function offlineCatalogue(map: { fields: readonly CustomFieldSpec[] }): CatalogueField[] {
  let enumId = 5000;
  return map.fields.map((spec, index) => ({
    id: spec.id ?? 1000 + index,
    name: spec.name,
    type: spec.type,
    enums: spec.choices?.map((choice) => ({ id: enumId++, value: choice })) ?? null,
  }));
}
