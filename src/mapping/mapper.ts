import type {
  ContactCreate,
  ContactUpdate,
  CustomFieldValueOut,
  FieldScalar,
  FieldValueOut,
} from '../amocrm/types.ts';
import type { ResolvedField, ResolvedMap } from './catalogue.ts';
import { contentHash } from './hash.ts';
import type { TransformName } from './schema.ts';
import { DEFAULT_TRANSFORM, MAX_LENGTH } from './schema.ts';
import { type DateRules, readWallClock, toAge, toDate, toDateTime } from './transforms/dates.ts';
import { NUMBER_KINDS, toBoolean, toNumber } from './transforms/numbers.ts';
import { empty, INVISIBLE, isBlank, type Transformed, value } from './transforms/outcome.ts';
import { parsePhones } from './transforms/phone.ts';
import { toText } from './transforms/text.ts';

export type PatientRow = Readonly<Record<string, unknown>>;

/**
 * A select's choice is sent by its option id; `{ label }` when the account has no option of that
 * name (an admin removed it), sent as `{"value": label}`, which amoCRM takes for a select
 * (../shared/reference/amocrm-api.md, custom field values: `{"enum_id": N}` or `{"value":
 * "label"}`): taken if the option came back under a new id, refused otherwise (one field of one
 * patient, listed), instead of the field being emptied or the run stopped. The emulator answers
 * both ways (validation.ts: an unknown label is NotSupportedChoice).
 */
export type DocumentValue = FieldScalar | { enum_id: number } | { label: string };

/** The contact as the map makes it, independent of create or update: the thing that is hashed. */
export interface ContactDocument {
  name: string;
  first_name: string;
  last_name: string;
  phones: { value: string; enum_code: string }[];
  emails: { value: string; enum_code: string }[];
  /** Every mapped custom field in map order; null means empty (cleared on update). */
  fields: { field_id: number; key: string; value: DocumentValue | null }[];
}

/** A value that was changed or left out, by field key (never the value itself: logs show these). */
export interface FieldNote {
  field: string;
  note: string;
}

export interface MappedContact {
  patientId: string;
  document: ContactDocument;
  /** `contentHash` of the document: names and custom fields (PHONE and EMAIL are compared as lists). */
  hash: string;
  notes: FieldNote[];
  /** When the patient last changed in IDENT (the row's ChangedAt), where the query gives it. */
  changedAt?: number;
  /** On a contact shared by clinics (src/sources/combine.ts): the IDENT id field's list of every patient. */
  identField?: string;
  /** On a contact shared by clinics: the other clinics' patients on it, whose links the write also moves on. */
  sharedWith?: string[];
}

export type MapOutcome =
  | { ok: true; contact: MappedContact }
  | { ok: false; patientId: string | undefined; reason: string; notes: FieldNote[] };

export interface MapperOptions {
  timeZone: string;
  /** The clock; injectable so ages and "future date" checks are testable. */
  now?: () => Date;
}

export type Mapper = (row: PatientRow) => MapOutcome;

export function createMapper(resolved: ResolvedMap, options: MapperOptions): Mapper {
  const now = options.now ?? (() => new Date());
  const { map } = resolved;
  return (row) => {
    const patientId = readId(row.PatientId);
    const notes: FieldNote[] = [];
    try {
      if (patientId === undefined) {
        return { ok: false, patientId, reason: 'the row has no PatientId', notes };
      }
      const rules: DateRules & { maxAge: number } = {
        timeZone: options.timeZone,
        now: now(),
        placeholderUntil: map.dates.placeholderUntil,
        allowFuture: false,
        maxAge: map.dates.maxAge,
      };
      // The link key is always the normalised id ("000123" and 123 are one patient), so that
      // lookups by IDENT id find what was written.
      const fields = documentFields(resolved.fields, row, rules, { key: 'ident_id', id: patientId }, notes);
      if (typeof fields === 'string') return { ok: false, patientId, reason: fields, notes };
      const document: ContactDocument = {
        name: contactName(map.contact.name, row, patientId, notes),
        first_name: singleLine(row, map.contact.first_name?.source, 255),
        last_name: singleLine(row, map.contact.last_name?.source, 255),
        phones: multitext(map.contact.phones, row, 'phone', notes),
        emails: multitext(map.contact.emails, row, 'email', notes),
        fields,
      };
      const changedAt = row.ChangedAt instanceof Date ? row.ChangedAt.getTime() : undefined;
      return {
        ok: true,
        contact: {
          patientId,
          document,
          hash: contentHash(document),
          notes,
          ...(changedAt !== undefined && Number.isFinite(changedAt) ? { changedAt } : {}),
        },
      };
    } catch (error) {
      // A transform must never stop a run: whatever went wrong is this row's failure.
      return { ok: false, patientId, reason: `mapping failed: ${(error as Error).message}`, notes };
    }
  };
}

/** An IDENT id as the sync keys it: trimmed, leading zeros dropped; undefined when not a positive whole number. */
const SCOPED_ID = /^[a-z][a-z0-9_-]{0,15}:[1-9]\d*$/;

export function readId(raw: unknown): string | undefined {
  // An id of one clinic of a chain, as the sync keeps it (src/sources/source-key.ts).
  if (typeof raw === 'string' && SCOPED_ID.test(raw)) return raw;
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) return String(raw);
  if (typeof raw === 'bigint' && raw > 0n) return String(raw);
  if (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) && !/^\s*0+\s*$/.test(raw))
    return raw.trim().replace(/^0+/, '');
  return undefined;
}

/**
 * The map's custom fields of one row, in map order (null: empty), the link field carrying the
 * normalised id; or why the row cannot be mapped (a required field is empty). Notes are added to
 * `notes`. Shared by contacts and deals.
 */
export function documentFields(
  resolvedFields: readonly ResolvedField[],
  row: PatientRow,
  rules: DateRules & { maxAge: number },
  link: { key: string; id: string },
  notes: FieldNote[],
): ContactDocument['fields'] | string {
  const fields: ContactDocument['fields'] = [];
  for (const field of resolvedFields) {
    const made = field.spec.key === link.key ? value<DocumentValue>(link.id) : fieldValue(field, row, rules);
    if (made.note) notes.push({ field: field.spec.key, note: made.note });
    if (made.kind === 'empty' && field.spec.required)
      return `required field ${field.spec.key} (${field.spec.source}) is empty${made.note ? `: ${made.note}` : ''}`;
    fields.push({
      field_id: field.fieldId,
      key: field.spec.key,
      value: made.kind === 'value' ? made.value : null,
    });
  }
  return fields;
}

/** One custom field's value from a row, by the field's transform (shared by contacts and deals). */
export function fieldValue(
  field: ResolvedField,
  row: PatientRow,
  rules: DateRules & { maxAge: number },
): Transformed<DocumentValue> {
  const { spec } = field;
  const raw = row[spec.source];
  const transform: TransformName = spec.transform ?? DEFAULT_TRANSFORM[spec.type];
  const maxLength = Math.min(spec.maxLength ?? Number.POSITIVE_INFINITY, MAX_LENGTH[spec.type] ?? 256);
  switch (transform) {
    case 'text':
      return toText(raw, { multiline: spec.type === 'textarea', maxLength });
    case 'phone': {
      const parsed = parsePhones(raw);
      const note = parsed.notes.join('; ') || undefined;
      return parsed.phones.length > 0
        ? toText(parsed.phones.join(', '), { multiline: false, maxLength })
        : empty(note);
    }
    case 'date':
      return toDate(raw, rules);
    case 'datetime':
      return toDateTime(raw, { ...rules, allowFuture: true });
    case 'age':
      return toAge(raw, rules);
    case 'boolean':
      return toBoolean(raw);
    case 'enum':
      return enumValue(field, row);
    default:
      return toNumber(raw, NUMBER_KINDS[transform]);
  }
}

function enumValue(field: ResolvedField, row: PatientRow): Transformed<DocumentValue> {
  const { spec } = field;
  let label: string | undefined;
  let note: string | undefined;
  const rule = spec.when?.find((candidate) => !isBlank(row[candidate.present]));
  if (rule) label = rule.value;
  else {
    const raw = row[spec.source];
    if (!isBlank(raw)) {
      const code = (raw instanceof Date ? '' : String(raw)).replace(INVISIBLE, '').trim().toLowerCase();
      label = codeTable(field).get(code);
      if (label === undefined) note = 'unknown code';
    }
    label ??= spec.default;
  }
  if (label === undefined) return empty(note);
  const enumId = field.enumIds.get(label);
  if (enumId === undefined) return value({ label }, note ?? 'no such option in amoCRM');
  return value({ enum_id: enumId }, note);
}

const codeTables = new WeakMap<ResolvedField, Map<string, string>>();

/** The field's `values` table keyed the way codes are compared: trimmed, lower case. */
function codeTable(field: ResolvedField): Map<string, string> {
  let table = codeTables.get(field);
  if (!table) {
    table = new Map();
    for (const [code, label] of Object.entries(field.spec.values ?? {})) {
      const key = code.trim().toLowerCase();
      if (!table.has(key)) table.set(key, label);
    }
    codeTables.set(field, table);
  }
  return table;
}

function singleLine(row: PatientRow, source: string | undefined, maxLength: number): string {
  if (!source) return '';
  const made = toText(row[source], { multiline: false, maxLength });
  return made.kind === 'value' ? made.value : '';
}

/**
 * `{Column}` becomes the column's text; `{Column:dd.MM.yyyy HH:mm}` writes a date column's wall
 * clock with dd, MM, yyyy, yy, HH and mm. Separators left dangling by an empty column at either
 * end ("Приём 12.11 10:00 — ") go too; with every column empty the result is empty.
 */
export function fillTemplate(template: string, row: PatientRow, maxLength: number): string {
  let placeholders = 0;
  let filledIn = 0;
  const filled = template.replace(
    /\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]+))?\}/g,
    (_, alias: string, format: string | undefined) => {
      placeholders += 1;
      const text = format === undefined ? singleLine(row, alias, 255) : formatWallClock(row[alias], format);
      if (text !== '') filledIn += 1;
      return text;
    },
  );
  // Nothing of the row in it: the caller's fallback is better than the template's bare words.
  if (placeholders > 0 && filledIn === 0) return '';
  const made = toText(filled.replace(/^[\s—–,:;-]+|[\s—–,:;-]+$/g, ''), { multiline: false, maxLength });
  return made.kind === 'value' ? made.value : '';
}

function formatWallClock(raw: unknown, format: string): string {
  const clock = readWallClock(raw);
  if (!clock) return '';
  const two = (value: number) => String(value).padStart(2, '0');
  const parts: Record<string, string> = {
    yyyy: String(clock.year),
    yy: two(clock.year % 100),
    MM: two(clock.month),
    dd: two(clock.day),
    HH: two(clock.hour),
    mm: two(clock.minute),
  };
  return format.replace(/yyyy|yy|MM|dd|HH|mm/g, (token) => parts[token]!);
}

function contactName(
  spec: { template: string; fallback: string; maxLength: number },
  row: PatientRow,
  patientId: string,
  notes: FieldNote[],
): string {
  const name = fillTemplate(spec.template, row, spec.maxLength);
  if (name) return name;
  notes.push({ field: 'name', note: 'no name in IDENT; fallback used' });
  return (
    fillTemplate(spec.fallback, { ...row, PatientId: patientId }, spec.maxLength) || `IDENT ${patientId}`
  );
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]{2,}$/;

function multitext(
  sources: readonly { source: string; enum: string }[],
  row: PatientRow,
  kind: 'phone' | 'email',
  notes: FieldNote[],
): { value: string; enum_code: string }[] {
  const out: { value: string; enum_code: string }[] = [];
  for (const { source, enum: enumCode } of sources) {
    const found: string[] = [];
    if (kind === 'phone') {
      const parsed = parsePhones(row[source]);
      found.push(...parsed.phones);
      for (const note of parsed.notes) notes.push({ field: `PHONE.${source}`, note });
    } else {
      const raw = row[source];
      if (isBlank(raw)) continue;
      for (const part of String(raw)
        .replace(INVISIBLE, '')
        .split(/[\s,;]+/)) {
        if (!part) continue;
        const email = part.toLowerCase();
        if (EMAIL.test(email) && email.length <= 254) found.push(email);
        else notes.push({ field: `EMAIL.${source}`, note: 'not an e-mail address' });
      }
    }
    for (const item of found) {
      if (!out.some((existing) => existing.value === item)) out.push({ value: item, enum_code: enumCode });
    }
  }
  return out;
}

/**
 * One custom field value as sent. Numbers go as strings ("1.5"): amoCRM documents numeric values
 * as strings and reads them back so (../shared/reference/amocrm-api.md, "Facts added in the third
 * review"). The document keeps the number; reading back (`mapping/compare.ts`) turns "1.5" into
 * 1.5 again, so both hash alike and a noop sync writes nothing.
 */
export function fieldValuesOut(item: DocumentValue): CustomFieldValueOut['values'] {
  if (typeof item === 'object')
    return 'label' in item ? [{ value: item.label }] : [{ enum_id: item.enum_id }];
  return [{ value: typeof item === 'number' ? numberText(item) : item }];
}

/** A select's value as a person reads it in `test`: the option id, or the label sent without one. */
export function optionText(value: { enum_id: number } | { label: string }): string {
  return 'label' in value ? `"${value.label}" (no such option in amoCRM)` : `enum ${value.enum_id}`;
}

/** A number as amoCRM's numeric fields take it: plain decimal notation, never "1e+21" or "-0". */
export function numberText(number: number): string {
  if (Object.is(number, -0)) return '0';
  const text = String(number);
  return /e/i.test(text)
    ? number.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 })
    : text;
}

/**
 * A new contact: empty fields are left out (there is nothing to clear), and so are empty standard
 * fields other than the name.
 */
export function toCreatePayload(document: ContactDocument): ContactCreate {
  const custom: CustomFieldValueOut[] = [];
  if (document.phones.length > 0) custom.push({ field_code: 'PHONE', values: document.phones });
  if (document.emails.length > 0) custom.push({ field_code: 'EMAIL', values: document.emails });
  for (const field of document.fields) {
    if (field.value !== null) custom.push({ field_id: field.field_id, values: fieldValuesOut(field.value) });
  }
  return {
    name: document.name,
    ...(document.first_name ? { first_name: document.first_name } : {}),
    ...(document.last_name ? { last_name: document.last_name } : {}),
    custom_fields_values: custom,
  };
}

/**
 * An existing contact: every mapped custom field is sent, empty ones as `values: null`, so a value
 * removed in IDENT is removed in amoCRM too. Standard text fields are sent as they are ("" clears
 * a first or last name); numbers and dates are never sent as "". PHONE and EMAIL go only when
 * given: amoCRM replaces such a field's whole list, so the caller merges it with what the contact
 * holds (`sync/multitext.ts`); an empty list is never given here (the writer adds a clear itself,
 * only where every value was the sync's).
 */
export function toUpdatePayload(
  document: ContactDocument,
  contactId: number,
  multitext: { phones?: FieldValueOut[]; emails?: FieldValueOut[] } = {},
): ContactUpdate {
  const custom: CustomFieldValueOut[] = [];
  if (multitext.phones && multitext.phones.length > 0)
    custom.push({ field_code: 'PHONE', values: multitext.phones });
  if (multitext.emails && multitext.emails.length > 0)
    custom.push({ field_code: 'EMAIL', values: multitext.emails });
  for (const field of document.fields) {
    custom.push({
      field_id: field.field_id,
      values: field.value === null ? null : fieldValuesOut(field.value),
    });
  }
  return {
    id: contactId,
    name: document.name,
    first_name: document.first_name,
    last_name: document.last_name,
    custom_fields_values: custom,
  };
}
