import { hash } from 'node:crypto';

/**
 * The hash of a contact document. Its shape is fixed by the mapper, so it is written out in a
 * fixed order instead of sorting keys: several times faster on the hot path of every sync.
 */
export function documentHash(document: {
  name: string;
  first_name: string;
  last_name: string;
  phones: { value: string; enum_code: string }[];
  emails: { value: string; enum_code: string }[];
  fields: { field_id: number; value: unknown }[];
}): string {
  const text = JSON.stringify([
    document.name,
    document.first_name,
    document.last_name,
    document.phones.map((phone) => [phone.value, phone.enum_code]),
    document.emails.map((email) => [email.value, email.enum_code]),
    document.fields.map((field) => [
      field.field_id,
      field.value !== null && typeof field.value === 'object'
        ? { enum_id: (field.value as { enum_id: number }).enum_id }
        : field.value,
    ]),
  ]);
  return hash('sha256', text, 'hex');
}
