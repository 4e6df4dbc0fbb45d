import { MirrorTable, mirrorMetaKeys } from './stream/mirror-base.ts';
import type { StateAccess } from './stream/sql.ts';

export type { MirrorState } from './stream/mirror-base.ts';

/**
 * amoCRM's contacts as the sync last read them, in the state store: every lookup a sync needs —
 * a contact by IDENT id, by phone, "did my create land", "did someone edit or delete it" — is
 * answered here, never by amoCRM's full-text search (whose tokenizer and lag are not documented).
 * Each contact is kept as small keys: its IDENT id, the hash of its content in the map's form, its
 * normalised phones and e-mails, the words of its names, and amoCRM's `updated_at`.
 */
export interface MirrorRow {
  contactId: number;
  /** Trimmed IDENT patient id, or null when the contact carries none. */
  identId: string | null;
  /** `contentHash` of what the contact holds, in the map's form. */
  hash: string;
  phones: string[];
  emails: string[];
  nameWords: string[];
  updatedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mirror_contacts (
  contact_id INTEGER PRIMARY KEY,
  ident_id TEXT,
  hash TEXT NOT NULL,
  phones TEXT NOT NULL,
  emails TEXT NOT NULL,
  name_words TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  generation INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mirror_contacts_ident ON mirror_contacts (ident_id) WHERE ident_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS mirror_contacts_generation ON mirror_contacts (generation);
CREATE TABLE IF NOT EXISTS mirror_phones (
  phone TEXT NOT NULL,
  contact_id INTEGER NOT NULL,
  PRIMARY KEY (phone, contact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mirror_phones_contact ON mirror_phones (contact_id);
`;

const META_KEYS = mirrorMetaKeys('mirror', 'mirror_max_contact_id');

const list = (text: string) => (text === '' ? [] : text.split(','));

interface StoredRow {
  contact_id: number;
  ident_id: string | null;
  hash: string;
  phones: string;
  emails: string;
  name_words: string;
  updated_at: number;
}

const toRow = (row: StoredRow): MirrorRow => ({
  contactId: row.contact_id,
  identId: row.ident_id,
  hash: row.hash,
  phones: list(row.phones),
  emails: list(row.emails),
  nameWords: row.name_words === '' ? [] : row.name_words.split(' '),
  updatedAt: row.updated_at,
});

export class ContactMirror extends MirrorTable<MirrorRow> {
  constructor(access: StateAccess) {
    super(access, {
      table: 'mirror_contacts',
      id: { name: 'contact_id', value: (row) => row.contactId },
      keyColumn: 'ident_id',
      keys: META_KEYS,
      columns: [
        { name: 'ident_id', value: (row) => row.identId },
        { name: 'hash', value: (row) => row.hash },
        { name: 'phones', value: (row) => row.phones.join(',') },
        { name: 'emails', value: (row) => row.emails.join(',') },
        { name: 'name_words', value: (row) => row.nameWords.join(' ') },
        { name: 'updated_at', value: (row) => row.updatedAt },
      ],
      read: (stored) => toRow(stored as unknown as StoredRow),
    });
  }

  createSchema(exec: (script: string) => void): void {
    exec(SCHEMA);
  }

  /**
   * Phones are indexed only for contacts without an IDENT id: those are the only ones a patient may
   * be linked to by phone.
   */
  protected override stored(row: MirrorRow): void {
    this.sql('DELETE FROM mirror_phones WHERE contact_id = ?').run(row.contactId);
    if (row.identId === null) {
      const addPhone = this.sql('INSERT OR IGNORE INTO mirror_phones (phone, contact_id) VALUES (?, ?)');
      for (const phone of row.phones) addPhone.run(phone, row.contactId);
    }
  }

  /**
   * What the sync just wrote into contacts: their IDENT ids, content and values (one
   * transaction). Until the next refresh reads amoCRM's own copy, the mirror holds what was sent.
   */
  recordWrites(
    written: readonly {
      contactId: number;
      identId: string;
      hash: string;
      phones?: string[];
      emails?: string[];
    }[],
  ): void {
    this.rewrite(
      written,
      (entry) => entry.contactId,
      (entry, before) => ({
        contactId: entry.contactId,
        identId: entry.identId,
        hash: entry.hash,
        phones: entry.phones ?? before?.phones ?? [],
        emails: entry.emails ?? before?.emails ?? [],
        nameWords: before?.nameWords ?? [],
        updatedAt: before?.updatedAt ?? 0,
      }),
    );
  }

  protected override dropIndexes(contactId: number): void {
    this.sql('DELETE FROM mirror_phones WHERE contact_id = ?').run(contactId);
  }

  /** Contacts carrying this IDENT id, oldest first. */
  byIdent(identId: string): MirrorRow[] {
    return (
      this.sql('SELECT * FROM mirror_contacts WHERE ident_id = ? ORDER BY contact_id').all(
        identId.trim(),
      ) as unknown as StoredRow[]
    ).map(toRow);
  }

  /** Contacts without an IDENT id that carry this normalised phone. */
  byPhone(phone: string): MirrorRow[] {
    return (
      this.sql(
        'SELECT c.* FROM mirror_phones p JOIN mirror_contacts c ON c.contact_id = p.contact_id WHERE p.phone = ? AND c.ident_id IS NULL ORDER BY c.contact_id',
      ).all(phone) as unknown as StoredRow[]
    ).map(toRow);
  }

  /** IDENT ids carried by more than one contact, with the contacts (oldest first). */
  duplicates(): { identId: string; contactIds: number[] }[] {
    return [...this.identIds(true)];
  }

  /** Every IDENT id the mirror holds, with its contacts; `shared`: only those of more than one. */
  *identIds(shared = false): Generator<{ identId: string; contactIds: number[] }> {
    for (const { key, ids } of this.keyGroups(shared)) yield { identId: key, contactIds: ids };
  }
}
