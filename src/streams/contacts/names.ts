import type { Contact } from '../../amocrm/types.ts';

/** Lower-case words of a contact's names (ё as е), for the name-compatibility rule. */
export function nameWordsOf(contact: Pick<Contact, 'name' | 'first_name' | 'last_name'>): string[] {
  return words(`${contact.name ?? ''} ${contact.first_name ?? ''} ${contact.last_name ?? ''}`);
}

export const words = (text: string) => [
  ...new Set(
    text
      .toLowerCase()
      .replace(/ё/g, 'е')
      .split(/[^\p{L}\p{N}]+/u)
      .filter((word) => word.length > 1),
  ),
];

/**
 * Whether a contact found by phone is this patient rather than a relative sharing the number: its
 * names must include the patient's first name, and — when it has more than a first name — the
 * surname too. "Мария" and "Иванова Мария" match Мария Иванова; "Иванов Сергей" (her husband) does not.
 */
export function compatibleName(
  patient: { firstName: string; lastName: string },
  contactWords: readonly string[],
): boolean {
  const first = words(patient.firstName)[0];
  const last = words(patient.lastName)[0];
  if (!first || contactWords.length === 0) return false;
  if (!contactWords.includes(first)) return false;
  if (contactWords.length === 1) return true;
  return last !== undefined && contactWords.includes(last);
}
