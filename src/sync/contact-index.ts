import type { ContactsApi } from '../amocrm/contacts.ts';
import { fieldValues } from '../amocrm/contacts.ts';
import type { Contact } from '../amocrm/types.ts';
import type { ResolvedMap } from '../mapping/catalogue.ts';
import { documentFromContact } from '../mapping/compare.ts';
import { documentHash } from '../mapping/hash.ts';
import { normalisePhone } from '../mapping/transforms/phone.ts';
import type { RunScratch } from './scratch.ts';

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

const SCHEMA = `
CREATE TABLE index_contacts (
  contact_id INTEGER PRIMARY KEY,
  ident_id TEXT,
  hash TEXT NOT NULL,
  name_words TEXT NOT NULL
);
CREATE INDEX index_contacts_ident ON index_contacts (ident_id) WHERE ident_id IS NOT NULL;
CREATE TABLE index_phones (
  phone TEXT NOT NULL,
  contact_id INTEGER NOT NULL,
  PRIMARY KEY (phone, contact_id)
) WITHOUT ROWID;
CREATE INDEX index_phones_contact ON index_phones (contact_id);
`;

export interface IdentFinding {
  identId: string;
  contactIds: number[];
}

/**
 * amoCRM's contacts read once (pages of 250) and kept as small keys in the run's scratch database:
 * by IDENT id, and — for contacts that carry no IDENT id — by normalised phone. Used when many
 * patients are unknown to the state (first run, lost state, deep sync) instead of one search per
 * patient.
 */
export class ContactIndex {
  private readonly scratch: RunScratch;
  contacts = 0;
  withIdentId = 0;

  private constructor(scratch: RunScratch) {
    this.scratch = scratch;
    scratch.exec(SCHEMA);
  }

  /**
   * `linkedAmong` tells which of a page's IDENT ids the state already links: their contacts'
   * content is not hashed (it is never compared), which keeps a deep sync of a synced clinic cheap.
   */
  static async build(
    scratch: RunScratch,
    contacts: ContactsApi,
    resolved: ResolvedMap,
    identFieldId: number,
    linkedAmong: (identIds: readonly string[]) => Set<string>,
  ): Promise<ContactIndex> {
    const index = new ContactIndex(scratch);
    for await (const page of contacts.pages()) index.addPage(page, resolved, identFieldId, linkedAmong);
    return index;
  }

  private addPage(
    page: readonly Contact[],
    resolved: ResolvedMap,
    identFieldId: number,
    linkedAmong: (identIds: readonly string[]) => Set<string>,
  ): void {
    const identIds = page.map(
      (contact) => fieldValues(contact, { fieldId: identFieldId })[0]?.trim() || undefined,
    );
    const linked = linkedAmong(identIds.filter((id) => id !== undefined));
    const insert = this.scratch.sql(
      'INSERT OR REPLACE INTO index_contacts (contact_id, ident_id, hash, name_words) VALUES (?, ?, ?, ?)',
    );
    const insertPhone = this.scratch.sql(
      'INSERT OR IGNORE INTO index_phones (phone, contact_id) VALUES (?, ?)',
    );
    page.forEach((contact, position) => {
      this.contacts += 1;
      const identId = identIds[position];
      if (identId) {
        this.withIdentId += 1;
        const hash = linked.has(identId) ? '' : documentHash(documentFromContact(contact, resolved));
        insert.run(contact.id, identId, hash, '');
        return;
      }
      insert.run(contact.id, null, '', nameWordsOf(contact).join(' '));
      for (const written of fieldValues(contact, { code: 'PHONE' })) {
        const phone = normalisePhone(written).phone;
        if (phone) insertPhone.run(phone, contact.id);
      }
    });
  }

  /** Contacts carrying this IDENT id, oldest first. */
  byIdent(identId: string): IndexedContact[] {
    const rows = this.scratch
      .sql('SELECT contact_id, hash FROM index_contacts WHERE ident_id = ? ORDER BY contact_id')
      .all(identId) as { contact_id: number; hash: string }[];
    return rows.map((row) => ({ id: row.contact_id, hash: row.hash }));
  }

  /** Contacts without an IDENT id that carry this normalised phone. */
  byPhone(phone: string): PhoneCandidate[] {
    const rows = this.scratch
      .sql(
        'SELECT c.contact_id, c.name_words FROM index_phones p JOIN index_contacts c ON c.contact_id = p.contact_id WHERE p.phone = ? AND c.ident_id IS NULL ORDER BY c.contact_id',
      )
      .all(phone) as { contact_id: number; name_words: string }[];
    return rows.map((row) => ({
      id: row.contact_id,
      nameWords: row.name_words ? row.name_words.split(' ') : [],
    }));
  }

  /** A contact just created or linked now carries this IDENT id: it no longer matches by phone. */
  claim(identId: string, entry: IndexedContact): void {
    this.scratch
      .sql(
        "INSERT INTO index_contacts (contact_id, ident_id, hash, name_words) VALUES (?, ?, ?, '') ON CONFLICT (contact_id) DO UPDATE SET ident_id = excluded.ident_id, hash = excluded.hash",
      )
      .run(entry.id, identId, entry.hash);
    this.scratch.sql('DELETE FROM index_phones WHERE contact_id = ?').run(entry.id);
  }

  /** IDENT ids carried by more than one contact. */
  duplicates(): IdentFinding[] {
    return this.findings(
      'SELECT ident_id, group_concat(contact_id) AS ids FROM index_contacts WHERE ident_id IS NOT NULL GROUP BY ident_id HAVING count(*) > 1',
    );
  }

  /** IDENT ids on contacts whose patient this run never read. */
  unseen(): IdentFinding[] {
    return this.findings(
      'SELECT c.ident_id, group_concat(c.contact_id) AS ids FROM index_contacts c WHERE c.ident_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM seen s WHERE s.patient_id = c.ident_id) GROUP BY c.ident_id',
    );
  }

  private findings(query: string): IdentFinding[] {
    const found: IdentFinding[] = [];
    for (const row of this.scratch.sql(query).iterate() as Iterable<{ ident_id: string; ids: string }>) {
      found.push({
        identId: row.ident_id,
        contactIds: row.ids
          .split(',')
          .map(Number)
          .sort((a, b) => a - b),
      });
    }
    return found;
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
