import { idsInField } from '../sources/source-key.ts';
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
  /**
   * The IDENT id field as the contact holds it (trimmed), or null when it carries none. On a contact
   * shared by the clinics of a chain it lists several: `1042, north:77` (see `idsInField`).
   */
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
CREATE TABLE IF NOT EXISTS mirror_idents (
  ident_id TEXT NOT NULL,
  contact_id INTEGER NOT NULL,
  PRIMARY KEY (ident_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mirror_idents_contact ON mirror_idents (contact_id);
`;

/**
 * Every (IDENT id, contact) pair: a field holding one id is its column (as before chains), a field
 * listing several has one row per id in mirror_idents.
 */
const IDENT_PAIRS = `SELECT ident_id, contact_id FROM mirror_contacts
  WHERE ident_id IS NOT NULL AND contact_id NOT IN (SELECT contact_id FROM mirror_idents)
  UNION ALL SELECT ident_id, contact_id FROM mirror_idents`;

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
    // Phones are indexed for every contact since chains match a person across clinics; a mirror
    // from before indexes them once here (no amoCRM request: the rows hold the phones).
    if (this.readOnly || this.sql("SELECT 1 FROM meta WHERE key = 'mirror_phones_all'").get()) return;
    this.transaction(() => {
      const addPhone = this.sql('INSERT OR IGNORE INTO mirror_phones (phone, contact_id) VALUES (?, ?)');
      for (const row of this.sql(
        'SELECT contact_id, phones FROM mirror_contacts WHERE ident_id IS NOT NULL',
      ).iterate() as Iterable<{ contact_id: number; phones: string }>)
        for (const phone of list(row.phones)) addPhone.run(phone, row.contact_id);
      this.sql("INSERT OR REPLACE INTO meta (key, value) VALUES ('mirror_phones_all', '1')").run();
    });
  }

  /**
   * Phones are indexed for every contact (`byPhone` keeps to those without an IDENT id, which a
   * patient may be linked to by phone; `byPhoneOfPatients` to the others, for a chain's one
   * person); each id of a field listing several, for `byIdent`.
   */
  protected override stored(row: MirrorRow): void {
    this.sql('DELETE FROM mirror_phones WHERE contact_id = ?').run(row.contactId);
    const addPhone = this.sql('INSERT OR IGNORE INTO mirror_phones (phone, contact_id) VALUES (?, ?)');
    for (const phone of row.phones) addPhone.run(phone, row.contactId);
    this.indexIdents(row.contactId, row.identId);
  }

  private indexIdents(contactId: number, identId: string | null): void {
    this.sql('DELETE FROM mirror_idents WHERE contact_id = ?').run(contactId);
    const ids = idsInField(identId);
    if (ids.length < 2) return;
    const add = this.sql('INSERT OR IGNORE INTO mirror_idents (ident_id, contact_id) VALUES (?, ?)');
    for (const id of ids) add.run(id, contactId);
  }

  /** A contact about to be linked to a patient carries its IDENT id (or ids) from now on. */
  override claim(contactId: number, identId: string): void {
    this.transaction(() => {
      this.sql('UPDATE mirror_contacts SET ident_id = ? WHERE contact_id = ?').run(identId, contactId);
      this.indexIdents(contactId, identId);
    });
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
    this.sql('DELETE FROM mirror_idents WHERE contact_id = ?').run(contactId);
  }

  /** Contacts carrying this IDENT id, oldest first. */
  byIdent(identId: string): MirrorRow[] {
    return (
      this.sql(
        // A field listing several ids never equals one id: each half is one index lookup.
        `SELECT * FROM mirror_contacts WHERE ident_id = ?
         UNION SELECT c.* FROM mirror_idents i JOIN mirror_contacts c ON c.contact_id = i.contact_id WHERE i.ident_id = ?
         ORDER BY contact_id`,
      ).all(identId.trim(), identId.trim()) as unknown as StoredRow[]
    ).map(toRow);
  }

  /** Contacts carrying an IDENT id (of a chain's clinics) and this normalised phone. */
  byPhoneOfPatients(phone: string): MirrorRow[] {
    return (
      this.sql(
        'SELECT c.* FROM mirror_phones p JOIN mirror_contacts c ON c.contact_id = p.contact_id WHERE p.phone = ? AND c.ident_id IS NOT NULL ORDER BY c.contact_id',
      ).all(phone) as unknown as StoredRow[]
    ).map(toRow);
  }

  /** Phones on more than one contact that carries IDENT ids, with those contacts (a chain's possible one person). */
  *sharedPhones(): Generator<{ phone: string; contactIds: number[] }> {
    for (const row of this.sql(
      `SELECT p.phone, group_concat(p.contact_id) AS ids FROM mirror_phones p
         JOIN mirror_contacts c ON c.contact_id = p.contact_id WHERE c.ident_id IS NOT NULL
         GROUP BY p.phone HAVING count(*) > 1`,
    ).iterate() as Iterable<{ phone: string; ids: string }>)
      yield { phone: row.phone, contactIds: sortedIds(row.ids) };
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

  /** Every IDENT id the mirror holds (each of a listing field's), with its contacts; `shared`: only those of more than one. */
  *identIds(shared = false): Generator<{ identId: string; contactIds: number[] }> {
    for (const row of this.sql(
      `SELECT ident_id, group_concat(contact_id) AS ids FROM (${IDENT_PAIRS}) GROUP BY ident_id${shared ? ' HAVING count(*) > 1' : ''}`,
    ).iterate() as Iterable<{ ident_id: string; ids: string }>)
      yield { identId: row.ident_id, contactIds: sortedIds(row.ids) };
  }
}

const sortedIds = (ids: string) =>
  ids
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
