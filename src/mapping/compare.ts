import type { Contact } from '../amocrm/types.ts';
import type { ResolvedMap } from './catalogue.ts';
import type { ContactDocument, DocumentValue } from './mapper.ts';

/**
 * What an amoCRM contact holds, in the form the map makes (ContactDocument): so a contact can be
 * compared with a patient without sending anything. amoCRM reads numbers back as strings and
 * selects with their labels; both are brought to the map's form.
 */
export function documentFromContact(contact: Contact, resolved: ResolvedMap): ContactDocument {
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
        value: stored ? readValue(field.spec.type, stored) : null,
      };
    }),
  };
}

function readValue(type: string, stored: { value?: unknown; enum_id?: number }): DocumentValue | null {
  switch (type) {
    case 'select':
      return stored.enum_id === undefined ? null : { enum_id: stored.enum_id };
    case 'numeric':
    case 'date':
    case 'date_time':
    case 'birthday': {
      const number = Number(stored.value);
      return stored.value === undefined || stored.value === '' || Number.isNaN(number) ? null : number;
    }
    case 'checkbox':
      return stored.value === true || stored.value === 'true' || stored.value === 1 || stored.value === '1';
    default:
      return stored.value === undefined || stored.value === null ? null : String(stored.value);
  }
}

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
  const list = (items: { value: string }[]) => items.map((item) => item.value).join(', ');
  if (list(ours.phones) !== list(theirs.phones))
    out.push({ field: 'PHONE', ours: list(ours.phones) || '—', theirs: list(theirs.phones) || '—' });
  if (list(ours.emails) !== list(theirs.emails))
    out.push({ field: 'EMAIL', ours: list(ours.emails) || '—', theirs: list(theirs.emails) || '—' });
  const theirsByKey = new Map(theirs.fields.map((field) => [field.key, field.value]));
  for (const field of ours.fields) {
    const other = theirsByKey.get(field.key) ?? null;
    if (JSON.stringify(field.value) !== JSON.stringify(other))
      out.push({ field: field.key, ours: show(field.value), theirs: show(other) });
  }
  return out;
}
