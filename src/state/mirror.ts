import { idsInField } from '../sources/source-key.ts';
import { MirrorTable, type Sql, type Transaction } from './mirror-table.ts';

export type { MirrorState } from './mirror-table.ts';

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
   * shared by the clinics of a chain it lists several: `1042, north:77` (see `identIds`).
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

const META_KEYS = {
  fullAt: 'mirror_full_at',
  watermark: 'mirror_watermark',
  maxId: 'mirror_max_contact_id',
  form: 'mirror_form',
  generation: 'mirror_generation',
} as const;

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

export class ContactMirror extends MirrorTable {
  constructor(sql: Sql, transaction: Transaction, readOnly: boolean) {
    super(sql, transaction, readOnly, { table: 'mirror_contacts', idColumn: 'contact_id', keys: META_KEYS });
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
   * Stores contacts as read (one transaction), marked with `generation`. Phones are indexed for
   * every contact (`byPhone` keeps to those without an IDENT id, `byPhoneOfPatients` to the others).
   */
  upsert(rows: readonly MirrorRow[], generation: number): void {
    if (rows.length === 0) return;
    this.transaction(() => {
      const insert = this.sql(
        `INSERT INTO mirror_contacts (contact_id, ident_id, hash, phones, emails, name_words, updated_at, generation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (contact_id) DO UPDATE SET ident_id = excluded.ident_id, hash = excluded.hash,
           phones = excluded.phones, emails = excluded.emails, name_words = excluded.name_words,
           updated_at = excluded.updated_at, generation = excluded.generation`,
      );
      const clearPhones = this.sql('DELETE FROM mirror_phones WHERE contact_id = ?');
      const addPhone = this.sql('INSERT OR IGNORE INTO mirror_phones (phone, contact_id) VALUES (?, ?)');
      const clearIdents = this.sql('DELETE FROM mirror_idents WHERE contact_id = ?');
      const addIdent = this.sql('INSERT OR IGNORE INTO mirror_idents (ident_id, contact_id) VALUES (?, ?)');
      for (const row of rows) {
        insert.run(
          row.contactId,
          row.identId,
          row.hash,
          row.phones.join(','),
          row.emails.join(','),
          row.nameWords.join(' '),
          row.updatedAt,
          generation,
        );
        clearPhones.run(row.contactId);
        for (const phone of row.phones) addPhone.run(phone, row.contactId);
        clearIdents.run(row.contactId);
        const ids = idsInField(row.identId);
        if (ids.length > 1) for (const id of ids) addIdent.run(id, row.contactId);
      }
      this.noteMaxId(rows.map((row) => row.contactId));
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
    if (written.length === 0) return;
    const current = this.get(written.map((entry) => entry.contactId));
    this.upsert(
      written.map((entry) => {
        const before = current.get(entry.contactId);
        return {
          contactId: entry.contactId,
          identId: entry.identId,
          hash: entry.hash,
          phones: entry.phones ?? before?.phones ?? [],
          emails: entry.emails ?? before?.emails ?? [],
          nameWords: before?.nameWords ?? [],
          updatedAt: before?.updatedAt ?? 0,
        };
      }),
      this.state().generation,
    );
  }

  /** A contact about to be linked to a patient carries its IDENT id from now on: nobody else links it by phone. */
  claim(contactId: number, identId: string): void {
    this.transaction(() => {
      this.sql('UPDATE mirror_contacts SET ident_id = ? WHERE contact_id = ?').run(identId, contactId);
      this.sql('DELETE FROM mirror_idents WHERE contact_id = ?').run(contactId);
      const ids = idsInField(identId);
      if (ids.length > 1)
        for (const id of ids)
          this.sql('INSERT OR IGNORE INTO mirror_idents (ident_id, contact_id) VALUES (?, ?)').run(
            id,
            contactId,
          );
    });
  }

  protected override removed(contactId: number): void {
    this.sql('DELETE FROM mirror_phones WHERE contact_id = ?').run(contactId);
    this.sql('DELETE FROM mirror_idents WHERE contact_id = ?').run(contactId);
  }

  get(contactIds: readonly number[]): Map<number, MirrorRow> {
    const found = new Map<number, MirrorRow>();
    if (contactIds.length === 0) return found;
    const rows = this.sql(
      'SELECT * FROM mirror_contacts WHERE contact_id IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(contactIds)) as unknown as StoredRow[];
    for (const row of rows) found.set(row.contact_id, toRow(row));
    return found;
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
    return this.groups(
      `SELECT ident_id, group_concat(contact_id) AS ids FROM (${IDENT_PAIRS}) GROUP BY ident_id HAVING count(*) > 1`,
    );
  }

  /** Every IDENT id the mirror holds, with its contacts. */
  *identIds(): Generator<{ identId: string; contactIds: number[] }> {
    for (const row of this.sql(
      `SELECT ident_id, group_concat(contact_id) AS ids FROM (${IDENT_PAIRS}) GROUP BY ident_id`,
    ).iterate() as Iterable<{ ident_id: string; ids: string }>) {
      yield { identId: row.ident_id, contactIds: sortedIds(row.ids) };
    }
  }

  private groups(query: string): { identId: string; contactIds: number[] }[] {
    return (this.sql(query).all() as { ident_id: string; ids: string }[]).map((row) => ({
      identId: row.ident_id,
      contactIds: sortedIds(row.ids),
    }));
  }
}

const sortedIds = (ids: string) =>
  ids
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
