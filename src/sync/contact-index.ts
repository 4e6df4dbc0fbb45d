import type { ContactsApi } from '../amocrm/contacts.ts';
import { fieldValues } from '../amocrm/contacts.ts';
import type { Contact } from '../amocrm/types.ts';
import type { ResolvedMap } from '../mapping/catalogue.ts';
import { documentFromContact } from '../mapping/compare.ts';
import { documentHash } from '../mapping/hash.ts';
import { normalisePhone } from '../mapping/transforms/phone.ts';

export interface IndexedContact {
  id: number;
  /** Hash of what the contact holds, in the map's form: equal to a patient's hash means nothing to send. */
  hash: string;
}

export interface PhoneCandidate {
  id: number;
  /** Lower-case words of the contact's names, for the name-compatibility rule. */
  nameWords: string[];
}

/**
 * amoCRM's contacts read once (pages of 250) and kept as small keys: by IDENT id, and — for
 * contacts that carry no IDENT id — by normalised phone. Used when many patients are unknown to
 * the state (first run, lost state, deep sync) instead of one search per patient.
 */
export class ContactIndex {
  readonly byIdent = new Map<string, IndexedContact[]>();
  readonly byPhone = new Map<string, PhoneCandidate[]>();
  private readonly phonesOf = new Map<number, string[]>();
  contacts = 0;

  /**
   * `isLinked` tells which IDENT ids the state already links: their contacts' content is not
   * hashed (it is never compared), which keeps a deep sync of a synced clinic cheap.
   */
  static async build(
    contacts: ContactsApi,
    resolved: ResolvedMap,
    identFieldId: number,
    isLinked: (identId: string) => boolean = () => false,
  ): Promise<ContactIndex> {
    const index = new ContactIndex();
    for await (const page of contacts.pages()) {
      for (const contact of page) index.add(contact, resolved, identFieldId, isLinked);
    }
    return index;
  }

  add(
    contact: Contact,
    resolved: ResolvedMap,
    identFieldId: number,
    isLinked: (identId: string) => boolean = () => false,
  ): void {
    this.contacts += 1;
    const identId = fieldValues(contact, { fieldId: identFieldId })[0]?.trim();
    if (identId) {
      const hash = isLinked(identId) ? '' : documentHash(documentFromContact(contact, resolved));
      const entry = { id: contact.id, hash };
      this.byIdent.set(
        identId,
        [...(this.byIdent.get(identId) ?? []), entry].sort((a, b) => a.id - b.id),
      );
      return;
    }
    const nameWords = nameWordsOf(contact);
    for (const written of fieldValues(contact, { code: 'PHONE' })) {
      const phone = normalisePhone(written).phone;
      if (!phone) continue;
      const list = this.byPhone.get(phone) ?? [];
      if (!list.some((candidate) => candidate.id === contact.id)) list.push({ id: contact.id, nameWords });
      this.byPhone.set(phone, list);
      this.phonesOf.set(contact.id, [...(this.phonesOf.get(contact.id) ?? []), phone]);
    }
  }

  /** A contact just created or linked now carries this IDENT id: it no longer matches by phone. */
  claim(identId: string, entry: IndexedContact): void {
    this.byIdent.set(identId, [...(this.byIdent.get(identId) ?? []).filter((e) => e.id !== entry.id), entry]);
    for (const phone of this.phonesOf.get(entry.id) ?? []) {
      const rest = (this.byPhone.get(phone) ?? []).filter((candidate) => candidate.id !== entry.id);
      if (rest.length > 0) this.byPhone.set(phone, rest);
      else this.byPhone.delete(phone);
    }
    this.phonesOf.delete(entry.id);
  }
}

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
