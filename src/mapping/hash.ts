import { hash } from 'node:crypto';

/**
 * The hash of what the sync owns whole in a contact: the names and every mapped custom field.
 * PHONE and EMAIL are not in it: amoCRM keeps numbers and addresses a manager typed next to ours,
 * so those are compared as lists of values (see `sync/multitext.ts`). The shape is fixed by the
 * mapper, so it is written out in a fixed order instead of sorting keys: several times faster on
 * the hot path of every sync.
 */
export function contentHash(document: {
  name: string;
  first_name: string;
  last_name: string;
  fields: { field_id: number; value: unknown }[];
}): string {
  return hashParts([document.name, document.first_name, document.last_name], document.fields);
}

/** Standard values in a fixed order, then the custom fields in map order: the hash contacts and deals share. */
export function hashParts(
  head: readonly unknown[],
  fields: readonly { field_id: number; value: unknown }[],
): string {
  const text = JSON.stringify([
    ...head,
    fields.map((field) => [
      field.field_id,
      field.value !== null && typeof field.value === 'object'
        ? 'label' in field.value
          ? { label: (field.value as { label: string }).label }
          : { enum_id: (field.value as { enum_id: number }).enum_id }
        : field.value,
    ]),
  ]);
  return hash('sha256', text, 'hex');
}
