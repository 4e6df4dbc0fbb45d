import type { Contact, Lead } from '../amocrm/types.ts';
import type { ResolvedField, ResolvedMap } from './catalogue.ts';
import type { DealDocument } from './deal-mapper.ts';
import type { ContactDocument, DocumentValue } from './mapper.ts';
import { DEFAULT_TRANSFORM } from './schema.ts';
import { normaliseDateRead } from './transforms/dates.ts';
import { normalisePhone } from './transforms/phone.ts';

/**
 * What an amoCRM contact holds, in the form the map makes (ContactDocument): so a contact can be
 * compared with a patient without sending anything. amoCRM reads numbers back as strings, dates as
 * Unix seconds, selects with their labels, and an unticked checkbox as no value at all; each is
 * brought to the map's form (dates in the clinic's zone `timeZone`, as the mapper writes them).
 */
export function documentFromContact(
  contact: Contact,
  resolved: ResolvedMap,
  timeZone: string,
): ContactDocument {
  const byId = new Map((contact.custom_fields_values ?? []).map((field) => [field.field_id, field]));
  const byCode = new Map(
    (contact.custom_fields_values ?? []).map((field) => [field.field_code ?? '', field]),
  );
  const multitext = (code: string) =>
    (byCode.get(code)?.values ?? []).map((value) => ({
      value: String(value.value ?? ''),
      enum_code: value.enum_code ?? '',
    }));
  return {
    name: contact.name ?? '',
    first_name: contact.first_name ?? '',
    last_name: contact.last_name ?? '',
    phones: multitext('PHONE'),
    emails: multitext('EMAIL'),
    fields: resolved.fields.map((field) => {
      const stored = byId.get(field.fieldId)?.values?.[0];
      return {
        field_id: field.fieldId,
        key: field.spec.key,
        value: readValue(field, stored, timeZone),
      };
    }),
  };
}

/** What an amoCRM deal holds, in the deal map's form (DealDocument): its name, price and mapped fields. */
export function documentFromLead(
  lead: Lead,
  fields: readonly ResolvedField[],
  timeZone: string,
): DealDocument {
  const byId = new Map((lead.custom_fields_values ?? []).map((field) => [field.field_id, field]));
  return {
    name: lead.name ?? '',
    price: Number(lead.price ?? 0) || 0,
    fields: fields.map((field) => ({
      field_id: field.fieldId,
      key: field.spec.key,
      value: readValue(field, byId.get(field.fieldId)?.values?.[0], timeZone),
    })),
  };
}

function readValue(
  field: ResolvedField,
  stored: { value?: unknown; enum_id?: number } | undefined,
  timeZone: string,
): DocumentValue | null {
  const { type } = field.spec;
  // amoCRM reads an unticked checkbox back as no value at all; the map sends it as false.
  if (type === 'checkbox') return stored !== undefined && isTicked(stored.value);
  if (!stored) return null;
  switch (type) {
    case 'select':
      return stored.enum_id === undefined ? null : { enum_id: stored.enum_id };
    case 'numeric': {
      const number = Number(stored.value);
      return stored.value === undefined || stored.value === '' || Number.isNaN(number) ? null : number;
    }
    case 'date':
    case 'date_time':
    case 'birthday': {
      const transform = field.spec.transform ?? DEFAULT_TRANSFORM[type];
      return normaliseDateRead(stored.value, transform === 'datetime' ? 'datetime' : 'date', timeZone);
    }
    default:
      return stored.value === undefined || stored.value === null ? null : String(stored.value);
  }
}

const isTicked = (value: unknown) => value === true || value === 'true' || value === 1 || value === '1';

export interface Difference {
  /** A field key of the map, or name / first_name / last_name / PHONE / EMAIL. */
  field: string;
  ours: string;
  theirs: string;
}

const show = (value: unknown) =>
  value === null || value === undefined || value === '' ? '—' : JSON.stringify(value);

/** Field by field, what would change in amoCRM if this document were sent. Values are personal data. */
export function differences(ours: ContactDocument, theirs: ContactDocument): Difference[] {
  const out: Difference[] = [];
  for (const key of ['name', 'first_name', 'last_name'] as const) {
    if (ours[key] !== theirs[key]) out.push({ field: key, ours: show(ours[key]), theirs: show(theirs[key]) });
  }
  // PHONE and EMAIL may hold a manager's values too: only IDENT's values missing there differ.
  const list = (items: { value: string }[]) => items.map((item) => item.value).join(', ');
  const lacks = (kind: 'phones' | 'emails', normalise: (written: string) => string) => {
    const held = new Set(theirs[kind].map((item) => normalise(item.value)));
    return ours[kind].some((item) => !held.has(normalise(item.value)));
  };
  if (lacks('phones', (written) => normalisePhone(written).phone ?? written))
    out.push({ field: 'PHONE', ours: list(ours.phones) || '—', theirs: list(theirs.phones) || '—' });
  if (lacks('emails', (written) => written.trim().toLowerCase()))
    out.push({ field: 'EMAIL', ours: list(ours.emails) || '—', theirs: list(theirs.emails) || '—' });
  const theirsByKey = new Map(theirs.fields.map((field) => [field.key, field.value]));
  for (const field of ours.fields) {
    const other = theirsByKey.get(field.key) ?? null;
    if (JSON.stringify(field.value) !== JSON.stringify(other))
      out.push({ field: field.key, ours: show(field.value), theirs: show(other) });
  }
  return out;
}
