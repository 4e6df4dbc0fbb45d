import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { DealStore } from './deals.ts';
import { LeadMirror } from './lead-mirror.ts';
import { ContactMirror } from './mirror.ts';
import { IncidentTable } from './incidents.ts';
import { type SentStamp, sentStampOf } from './sent-stamp.ts';
import { StateDatabase } from './state-database.ts';
import type { Checkpoint } from './stream/checkpoint.ts';
import type { FailureRow } from './stream/failure-table.ts';
import type { PendingCommon } from './stream/pending-table.ts';
import type { RefusalRow, RefusedValue, SettledWrite } from './stream/refusal-table.ts';
import {
  type Column,
  listOf as list,
  readMeta,
  tableExists,
  textOf as text,
  upsertSql,
  valuesOf,
  writeMeta,
} from './stream/sql.ts';
import { StreamStore } from './stream/stream-store.ts';
import type { StreamLayout } from './stream/stream-tables.ts';

export { retryDelayMinutes } from './stream/failure-table.ts';
export type { Checkpoint } from './stream/checkpoint.ts';
export type { StandingRefusals } from './stream/refusal-table.ts';

/**
 * `initial`: an incremental run of a state without a checkpoint, which reads every patient.
 * `startup`: the daemon's checks before its first run failed (one row per streak of the same cause).
 */
export type RunKind = 'initial' | 'incremental' | 'deep' | 'single' | 'startup';

/** Why a run failed, as the alerts weigh it (`other`: none of these). */
export type RunErrorKind =
  'ident-unreachable' | 'amocrm-unreachable' | 'blocked' | 'unpaid' | 'token' | 'other';
export type RunOutcome = 'ok' | 'failed' | 'stopped' | 'running';

export interface RunCounts {
  read: number;
  unchanged: number;
  created: number;
  updated: number;
  linked: number;
  /** Contacts edited, deleted or merged in amoCRM that a deep sync put right. */
  repaired: number;
  failed: number;
  requests: number;
}

/** The deal phase of a run (SYNC_RECEPTIONS), as the daemon notes it. */
export interface RunDeals {
  outcome: string;
  read: number;
  /** Deals created, updated, moved, linked, re-linked, repaired or closed. */
  written: number;
  failed: number;
}

export interface RunRecord extends RunCounts {
  id: number;
  deals: RunDeals | null;
  kind: RunKind;
  startedAt: string;
  endedAt: string | null;
  outcome: RunOutcome;
  error: string | null;
  errorKind: RunErrorKind | null;
  dryRun: boolean;
  /** How many attempts the row stands for: >1 only for identical failed start-ups folded into one. */
  attempts: number;
}

/** What the state knows of a patient's contact: what was last sent, and which values the sync owns. */
export interface Link {
  patientId: string;
  contactId: number;
  /** `contentHash` of the names and custom fields last sent. */
  hash: string;
  /** IDENT's normalised phones and e-mails when last sent (a change means PHONE/EMAIL are merged again). */
  phones: string[];
  emails: string[];
  /** The values the sync wrote into PHONE and EMAIL and may remove again (never a manager's). */
  ownedPhones: string[];
  ownedEmails: string[];
}

/** A value amoCRM refused on a patient's contact (see RefusalRow). */
export interface FieldRefusal extends Omit<RefusalRow, 'key'> {
  patientId: string;
}

export interface SavedLink extends Link {
  /** Fields amoCRM refused in this write (recorded, or their last try moved). */
  refused?: readonly RefusedValue[];
  /**
   * Fields this write put into amoCRM: their refusals end, and the others stand. Absent: every
   * field landed (a create, or a contact found holding the patient's data), so none stands.
   */
  landed?: readonly string[];
  /**
   * A chain's other clinics' patients on the same contact: the contact now holds what their next
   * run would write too, so their links move to this write's values (same transaction).
   */
  sharedWith?: readonly string[];
}

export interface Failure extends Omit<FailureRow, 'key'> {
  patientId: string;
}

/** A patient's contact create in flight. */
export interface Pending extends Omit<PendingCommon, 'key'> {
  patientId: string;
  phones: string[];
  emails: string[];
}

type NewPending = Omit<Pending, 'createdAt' | 'sent' | 'refused'>;

const LINK_COLUMNS: readonly Column<Link, string>[] = [
  { name: 'patient_id', value: (link) => link.patientId },
  { name: 'contact_id', value: (link) => link.contactId },
  { name: 'hash', value: (link) => link.hash },
  { name: 'synced_at', value: (_, at) => at },
  { name: 'phones', value: (link) => text(link.phones) },
  { name: 'emails', value: (link) => text(link.emails) },
  { name: 'owned_phones', value: (link) => text(link.ownedPhones) },
  { name: 'owned_emails', value: (link) => text(link.ownedEmails) },
];

export interface Finding {
  /** `person`: in a clinic chain, two contacts of different clinics' patients that may be one person. */
  kind: 'duplicate' | 'orphan' | 'person';
  patientId: string;
  contactIds: number[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (
  patient_id TEXT PRIMARY KEY,
  contact_id INTEGER NOT NULL,
  hash TEXT NOT NULL,
  synced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_creates (
  patient_id TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
  patient_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS field_refusals (
  patient_id TEXT NOT NULL,
  field_key TEXT NOT NULL,
  detail TEXT NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (patient_id, field_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vanished_contacts (
  patient_id TEXT PRIMARY KEY,
  contact_id INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  sent_monotonic INTEGER,
  sent_boot TEXT NOT NULL DEFAULT '',
  owned_phones TEXT NOT NULL DEFAULT '',
  owned_emails TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  outcome TEXT NOT NULL,
  dry_run INTEGER NOT NULL DEFAULT 0,
  read INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  linked INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  requests INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
CREATE TABLE IF NOT EXISTS chain_values (
  patient_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value_hash TEXT NOT NULL,
  changed_at INTEGER NOT NULL,
  PRIMARY KEY (patient_id, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS findings (
  kind TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  contact_ids TEXT NOT NULL,
  seen_at TEXT NOT NULL,
  PRIMARY KEY (kind, patient_id)
);
`;

/** Columns added after the first release: added in place, so an existing state folder carries on. */
const ADDED_COLUMNS: { table: string; column: string; definition: string; fill?: string }[] = [
  { table: 'links', column: 'phones', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'links', column: 'emails', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'links', column: 'owned_phones', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'links', column: 'owned_emails', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'pending_creates', column: 'phones', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'pending_creates', column: 'emails', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'pending_creates', column: 'known_max_id', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'pending_creates', column: 'sent_monotonic', definition: 'INTEGER' },
  { table: 'pending_creates', column: 'sent_boot', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'pending_creates', column: 'refused', definition: "TEXT NOT NULL DEFAULT '[]'" },
  { table: 'failures', column: 'due_at', definition: 'TEXT', fill: 'UPDATE failures SET due_at = last_at' },
  { table: 'runs', column: 'repaired', definition: 'INTEGER NOT NULL DEFAULT 0' },
  // What the daemon notes after a run: the deal phase's counts.
  { table: 'runs', column: 'deal_outcome', definition: 'TEXT' },
  { table: 'runs', column: 'deal_read', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'runs', column: 'deal_written', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'runs', column: 'deal_failed', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'runs', column: 'error_kind', definition: 'TEXT' },
  // Identical failed start-ups fold into one row; this counts the attempts it stands for.
  { table: 'runs', column: 'attempts', definition: 'INTEGER NOT NULL DEFAULT 1' },
  { table: 'vanished_contacts', column: 'owned_phones', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'vanished_contacts', column: 'owned_emails', definition: "TEXT NOT NULL DEFAULT ''" },
  {
    table: 'field_refusals',
    column: 'tried_at',
    definition: 'TEXT',
    fill: 'UPDATE field_refusals SET tried_at = at WHERE tried_at IS NULL',
  },
];

const INDEXES = `
CREATE INDEX IF NOT EXISTS failures_due ON failures (due_at);
`;

const KEEP_RUNS = 1000;

const CONTACT_STREAM: StreamLayout<NewPending, Pending> = {
  checkpoint: { at: 'checkpoint', rowVersion: 'checkpoint_rowversion' },
  pending: {
    table: 'pending_creates',
    key: { name: 'patient_id', value: (entry) => entry.patientId },
    columns: [
      { name: 'phones', value: (entry) => text(entry.phones) },
      { name: 'emails', value: (entry) => text(entry.emails) },
    ],
    read: (row, { key, ...common }) => ({
      patientId: key,
      ...common,
      phones: list(String(row.phones)),
      emails: list(String(row.emails)),
    }),
  },
  failures: 'failures',
  refusals: 'field_refusals',
};

/**
 * The sync's memory, in one SQLite file in STATE_DIR: the checkpoint, patient → contact links with
 * what was last sent, creates in flight, failures, refused fields, run history, reconciliation
 * findings, and the mirror of amoCRM's contacts. Every change a batch makes is one transaction,
 * and every write touches only that batch's rows. WAL with synchronous=FULL: a committed batch
 * survives `kill -9` and power loss.
 */
export class StateStore extends StreamStore<'patientId', NewPending, Pending> {
  readonly path: string;
  readonly mirror: ContactMirror;
  /** Receptions → deals (SYNC_RECEPTIONS): links, pending creates, failures, refusals. */
  readonly deals: DealStore;
  /** amoCRM's deals as last read. */
  readonly leadMirror: LeadMirror;
  /** Alert incidents: which rule is open since when, and which channels are still owed a message. */
  readonly incidents: IncidentTable;
  private readonly database: StateDatabase;
  private readonly db: DatabaseSync;

  constructor(stateDir: string, options: { readOnly?: boolean } = {}) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, 'state.sqlite');
    const readOnly = options.readOnly ?? false;
    const database = new StateDatabase(path, readOnly);
    const sql = (query: string) => database.sql(query);
    const durable = { sql, transaction: (work: () => void) => database.transaction(work), readOnly };
    const cache = { sql, transaction: (work: () => void) => database.transaction(work, 'cache'), readOnly };
    super(durable, CONTACT_STREAM, 'patientId');
    this.path = path;
    this.database = database;
    this.db = database.db;
    if (!readOnly) {
      this.db.exec(SCHEMA);
      this.addMissingColumns();
      this.db.exec(INDEXES);
    }
    this.mirror = new ContactMirror(cache);
    this.deals = new DealStore(durable);
    this.leadMirror = new LeadMirror(cache);
    this.incidents = new IncidentTable(durable);
    if (!readOnly) {
      for (const part of [this.mirror, this.deals, this.leadMirror, this.incidents])
        part.createSchema((script) => this.db.exec(script));
    }
  }

  close(): void {
    this.db.close();
  }

  private addMissingColumns(): void {
    for (const { table, column, definition, fill } of ADDED_COLUMNS) {
      const columns = this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      if (columns.some((existing) => existing.name === column)) continue;
      this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      if (fill) this.db.exec(fill);
    }
  }

  // ── meta ───────────────────────────────────────────────────────────────────────────────────
  getMeta(key: string): string | undefined {
    return readMeta(this.sql, key);
  }

  /** `undefined` removes the key. */
  setMeta(key: string, value: string | undefined): void {
    writeMeta(this.sql, key, value);
  }

  // ── checkpoint ─────────────────────────────────────────────────────────────────────────────
  /**
   * The database-clock time up to which every change is handled (IDENT wall clock), and the
   * database's rowversion mark of the same moment where the source has one.
   */
  checkpoint(): Checkpoint | undefined {
    return this.tables.checkpoint.read();
  }

  setCheckpoint(mark: Checkpoint): void {
    this.tables.checkpoint.write(mark);
  }

  // ── links ──────────────────────────────────────────────────────────────────────────────────
  link(patientId: string): Link | undefined {
    return this.links([patientId]).get(patientId);
  }

  /** The links of many patients in one query (a per-row query costs more than the row's mapping). */
  links(patientIds: readonly string[]): Map<string, Link> {
    const found = new Map<string, Link>();
    if (patientIds.length === 0) return found;
    const rows = this.sql(
      'SELECT patient_id, contact_id, hash, phones, emails, owned_phones, owned_emails FROM links WHERE patient_id IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(patientIds)) as {
      patient_id: string;
      contact_id: number;
      hash: string;
      phones: string;
      emails: string;
      owned_phones: string;
      owned_emails: string;
    }[];
    for (const row of rows) {
      found.set(row.patient_id, {
        patientId: row.patient_id,
        contactId: row.contact_id,
        hash: row.hash,
        phones: list(row.phones),
        emails: list(row.emails),
        ownedPhones: list(row.owned_phones),
        ownedEmails: list(row.owned_emails),
      });
    }
    return found;
  }

  linkCount(): number {
    return (this.sql('SELECT COUNT(*) AS n FROM links').get() as { n: number }).n;
  }

  /**
   * Linked patients, open failures and refused values per source key: the text before `:` of a
   * kept id (`north:1042`), '' for a bare id. What `status` shows for each clinic of a chain.
   */
  countsBySource(): Record<'links' | 'failures' | 'refusals', Map<string, number>> {
    const count = (table: string) =>
      new Map(
        (
          this.sql(
            `SELECT CASE WHEN instr(patient_id, ':') > 0 THEN substr(patient_id, 1, instr(patient_id, ':') - 1) ELSE '' END AS source, COUNT(*) AS n FROM ${table} GROUP BY source`,
          ).all() as { source: string; n: number }[]
        ).map((row) => [row.source, row.n]),
      );
    return { links: count('links'), failures: count('failures'), refusals: count('field_refusals') };
  }

  /**
   * The patients of one source synced last, with the phones they had then (`key` undefined: the
   * bare ids): what a start compares with the source's database.
   */
  recentLinksOf(key: string | undefined, limit: number): { patientId: string; phones: string[] }[] {
    const rows = this.sql(
      // A chain's shared contact holds the combined phones: only a patient alone on its contact says
      // what its own clinic's row held.
      `SELECT patient_id, phones FROM links WHERE phones != '' AND ${
        key === undefined ? "instr(patient_id, ':') = 0" : 'substr(patient_id, 1, ?) = ?'
      } AND contact_id NOT IN (SELECT contact_id FROM links GROUP BY contact_id HAVING count(*) > 1)
      ORDER BY synced_at DESC LIMIT ?`,
    ).all(...(key === undefined ? [limit] : [key.length + 1, `${key}:`, limit])) as {
      patient_id: string;
      phones: string;
    }[];
    return rows.map((row) => ({ patientId: row.patient_id, phones: row.phones.split(',') }));
  }

  /**
   * A chain's shared patient: when the sync first saw each of its person values as it is (a hash
   * of the value, no value itself), so `latest` picks the clinic that changed that value last — not
   * the one whose row changed last for another reason.
   */
  chainValues(patientId: string): Map<string, { hash: string; changedAt: number }> {
    const rows = this.sql('SELECT field, value_hash, changed_at FROM chain_values WHERE patient_id = ?').all(
      patientId,
    ) as { field: string; value_hash: string; changed_at: number }[];
    return new Map(rows.map((row) => [row.field, { hash: row.value_hash, changedAt: row.changed_at }]));
  }

  noteChainValues(
    patientId: string,
    values: readonly { field: string; hash: string; changedAt: number }[],
  ): void {
    if (values.length === 0) return;
    this.transaction(() => {
      const upsert = this.sql(
        `INSERT INTO chain_values (patient_id, field, value_hash, changed_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (patient_id, field) DO UPDATE SET value_hash = excluded.value_hash, changed_at = excluded.changed_at`,
      );
      for (const value of values) upsert.run(patientId, value.field, value.hash, value.changedAt);
    });
  }

  /** The IDENT patients whose contact this is (one, unless a person merged contacts in amoCRM). */
  patientsOfContact(contactId: number): string[] {
    return (
      this.sql('SELECT patient_id FROM links WHERE contact_id = ?').all(contactId) as { patient_id: string }[]
    ).map((row) => row.patient_id);
  }

  /** Marks values as the sync's before a write that may land without its answer (one transaction). */
  widenOwned(
    entries: readonly { patientId: string; phones: readonly string[]; emails: readonly string[] }[],
  ): void {
    if (entries.length === 0) return;
    const update = this.sql('UPDATE links SET owned_phones = ?, owned_emails = ? WHERE patient_id = ?');
    this.transaction(() => {
      for (const entry of entries) update.run(text(entry.phones), text(entry.emails), entry.patientId);
    });
  }

  /**
   * A contact about to be taken over, linked before the PATCH with only what the sync will own
   * there and nothing counted as sent (an empty hash and lists): a kill after amoCRM applied the
   * PATCH leaves a link the next run completes, not a contact carrying the patient's IDENT id whose
   * every value (a manager's typed number too) would then look like the sync's.
   */
  reserveLinks(
    entries: readonly {
      patientId: string;
      contactId: number;
      ownedPhones: readonly string[];
      ownedEmails: readonly string[];
    }[],
    at = new Date(),
  ): void {
    if (entries.length === 0) return;
    this.transaction(() =>
      this.upsertLinks(
        entries.map((entry) => ({
          ...entry,
          hash: '',
          phones: [],
          emails: [],
          ownedPhones: [...entry.ownedPhones],
          ownedEmails: [...entry.ownedEmails],
        })),
        at.toISOString(),
      ),
    );
  }

  /**
   * Stores what amoCRM now holds for these patients, with their refused fields; their pending
   * creates, vanished contacts and failures end in the same transaction. A refusal ends only when
   * its field landed (`landed`); one the write did not settle stands, at the link's new hash.
   */
  saveLinks(links: readonly SavedLink[], at = new Date()): void {
    if (links.length === 0) return;
    this.transaction(() => {
      this.upsertLinks(links, at.toISOString());
      const shared = this.shareLinks(links, at.toISOString());
      const clearVanished = this.sql('DELETE FROM vanished_contacts WHERE patient_id = ?');
      for (const link of links) clearVanished.run(link.patientId);
      this.tables.settle(
        links.map((link) => ({
          key: link.patientId,
          hash: link.hash,
          refused: link.refused,
          landed: link.landed,
        })),
        at,
      );
      // What amoCRM refused of the shared contact stands for each of its patients: none of them
      // sends it again before IDENT changes (or the daily retry).
      this.tables.refusals.settle(shared, at);
    });
  }

  /**
   * The links of a shared contact's other patients take this write's values (`SavedLink.sharedWith`);
   * the writes to settle their refusals with.
   */
  private shareLinks(links: readonly SavedLink[], at: string): SettledWrite[] {
    const settled: SettledWrite[] = [];
    const share = this.sql(
      `UPDATE links SET hash = ?, synced_at = ?, phones = ?, emails = ?, owned_phones = ?, owned_emails = ?
       WHERE patient_id = ? AND contact_id = ?`,
    );
    for (const link of links)
      for (const other of link.sharedWith ?? []) {
        const { changes } = share.run(
          link.hash,
          at,
          text(link.phones),
          text(link.emails),
          text(link.ownedPhones),
          text(link.ownedEmails),
          other,
          link.contactId,
        );
        if (Number(changes) > 0)
          settled.push({ key: other, hash: link.hash, refused: link.refused, landed: link.landed });
      }
    return settled;
  }

  private upsertLinks(links: readonly Link[], at: string): void {
    const upsert = this.sql(upsertSql('links', 'patient_id', LINK_COLUMNS));
    for (const link of links) upsert.run(...valuesOf(LINK_COLUMNS, link, at));
  }

  /** Unchanged patients: only a failure they had is cleared. */
  /**
   * Sync these patients (and these receptions' deals) again in the next run, by the failures'
   * path: each is due now, and its link counts nothing as sent, so the run writes every value again
   * (a refused one too) through the ordinary update — what the sync owns stays its own.
   */
  queueResync(
    ids: { patients: readonly string[]; receptions: readonly string[] },
    reason: string,
    at = new Date(),
  ): void {
    if (ids.patients.length === 0 && ids.receptions.length === 0) return;
    this.transaction(() => {
      const forget = this.sql("UPDATE links SET hash = '', phones = '', emails = '' WHERE patient_id = ?");
      for (const patientId of ids.patients) {
        forget.run(patientId);
        this.tables.failures.dueNow(patientId, reason, at);
      }
      const forgetDeal = this.sql("UPDATE deal_links SET hash = '' WHERE reception_id = ?");
      for (const receptionId of ids.receptions) {
        forgetDeal.run(receptionId);
        this.deals.tables.failures.dueNow(receptionId, reason, at);
      }
    });
  }

  /** Every open failure, of patients and receptions, is due now (the back-off is skipped once). */
  retryFailuresNow(at = new Date()): number {
    let count = 0;
    this.transaction(() => {
      count = this.tables.failures.retryAll(at) + this.deals.tables.failures.retryAll(at);
    });
    return count;
  }

  /**
   * The patient's contact is gone from amoCRM (deleted, or merged into a contact amoCRM's lists may
   * not show yet). `unlink`: the link ends in the same transaction. The first sighting is kept: a
   * replacement is made only by a complete listing begun a pending wait after it (`vanished`).
   */
  markVanished(patientId: string, contactId: number, found: SentStamp, options: { unlink: boolean }): void {
    this.transaction(() => {
      // What the sync owned there goes with it: a merge's survivor is taken with only those values
      // as the sync's, never a number a manager typed on either contact.
      const link = this.link(patientId);
      this.sql(
        `INSERT INTO vanished_contacts (patient_id, contact_id, created_at, sent_monotonic, sent_boot, owned_phones, owned_emails)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (patient_id) DO NOTHING`,
      ).run(
        patientId,
        contactId,
        new Date(found.sentAt).toISOString(),
        found.monotonic ?? null,
        found.boot,
        text(link?.ownedPhones ?? []),
        text(link?.ownedEmails ?? []),
      );
      if (options.unlink) this.sql('DELETE FROM links WHERE patient_id = ?').run(patientId);
    });
  }

  /** Patients whose contact vanished and has not been replaced or found again, with when it was first seen gone. */
  vanished(): { patientId: string; contactId: number; found: SentStamp }[] {
    const rows = this.sql('SELECT * FROM vanished_contacts ORDER BY created_at').all() as {
      patient_id: string;
      contact_id: number;
      created_at: string;
      sent_monotonic: number | null;
      sent_boot: string;
    }[];
    return rows.map((row) => ({
      patientId: row.patient_id,
      contactId: row.contact_id,
      found: sentStampOf(row),
    }));
  }

  /** What the sync owned on the patient's vanished contact; undefined when none vanished. */
  vanishedOwnership(patientId: string): { phones: string[]; emails: string[] } | undefined {
    const row = this.sql('SELECT owned_phones, owned_emails FROM vanished_contacts WHERE patient_id = ?').get(
      patientId,
    ) as { owned_phones: string; owned_emails: string } | undefined;
    return row && { phones: list(row.owned_phones), emails: list(row.owned_emails) };
  }

  /** A new first-seen time for vanished contacts whose stamp could not be trusted, in one transaction. */
  restampVanished(entries: readonly { patientId: string; found: SentStamp }[]): void {
    if (entries.length === 0) return;
    this.transaction(() => {
      const update = this.sql(
        'UPDATE vanished_contacts SET created_at = ?, sent_monotonic = ?, sent_boot = ? WHERE patient_id = ?',
      );
      for (const { patientId, found } of entries)
        update.run(new Date(found.sentAt).toISOString(), found.monotonic ?? null, found.boot, patientId);
    });
  }

  vanishedCount(): number {
    // A state folder of an older release, read by `status` without upgrading it, has no such table.
    if (!tableExists(this.sql, 'vanished_contacts')) return 0;
    return (this.sql('SELECT COUNT(*) AS n FROM vanished_contacts').get() as { n: number }).n;
  }

  // ── refused fields ─────────────────────────────────────────────────────────────────────────
  /** These patients' contacts hold every value of the map after all (a deep sync saw it): their refusals end. */
  /** Patients with a refused value, a vanished contact or a chain's value times on record (what `forgetPatients` may end). */
  patientsOnRecord(): string[] {
    return (
      this.sql(
        `SELECT patient_id FROM field_refusals UNION SELECT patient_id FROM vanished_contacts
         UNION SELECT DISTINCT patient_id FROM chain_values`,
      ).all() as { patient_id: string }[]
    ).map((row) => row.patient_id);
  }

  /** Patients IDENT no longer has: their refusals and vanished contacts end (nothing will sync them). */
  forgetPatients(patientIds: readonly string[]): void {
    if (patientIds.length === 0) return;
    this.transaction(() => {
      this.tables.refusals.clear(patientIds);
      this.sql('DELETE FROM chain_values WHERE patient_id IN (SELECT value FROM json_each(?))').run(
        JSON.stringify(patientIds),
      );
      this.sql('DELETE FROM vanished_contacts WHERE patient_id IN (SELECT value FROM json_each(?))').run(
        JSON.stringify(patientIds),
      );
    });
  }

  fieldRefusals(limit = 20): FieldRefusal[] {
    return this.refusalRows(limit);
  }

  fieldRefusalCount(): number {
    return this.refusalCount();
  }

  // ── runs ───────────────────────────────────────────────────────────────────────────────────
  startRun(kind: RunKind, dryRun: boolean, at = new Date()): number {
    const result = this.sql('INSERT INTO runs (kind, started_at, outcome, dry_run) VALUES (?, ?, ?, ?)').run(
      kind,
      at.toISOString(),
      'running',
      dryRun ? 1 : 0,
    );
    this.sql('DELETE FROM runs WHERE id <= ?').run(Number(result.lastInsertRowid) - KEEP_RUNS);
    return Number(result.lastInsertRowid);
  }

  finishRun(
    id: number,
    outcome: RunOutcome,
    counts: RunCounts,
    error?: string,
    at = new Date(),
    errorKind?: RunErrorKind,
  ): void {
    this.sql(
      'UPDATE runs SET ended_at = ?, outcome = ?, read = ?, unchanged = ?, created = ?, updated = ?, linked = ?, repaired = ?, failed = ?, requests = ?, error = ?, error_kind = ? WHERE id = ?',
    ).run(
      at.toISOString(),
      outcome,
      counts.read,
      counts.unchanged,
      counts.created,
      counts.updated,
      counts.linked,
      counts.repaired,
      counts.failed,
      counts.requests,
      error ?? null,
      outcome === 'failed' ? (errorKind ?? 'other') : null,
      id,
    );
  }

  /** The deal phase's counts of a finished run (the daemon knows them). */
  noteRun(id: number, details: { deals?: RunDeals }): void {
    this.sql(
      'UPDATE runs SET deal_outcome = ?, deal_read = ?, deal_written = ?, deal_failed = ? WHERE id = ?',
    ).run(
      details.deals?.outcome ?? null,
      details.deals?.read ?? 0,
      details.deals?.written ?? 0,
      details.deals?.failed ?? 0,
      id,
    );
  }

  /** Runs started at or after `since`, oldest first (dry runs aside). */
  runsSince(since: Date): RunRecord[] {
    return (
      this.sql('SELECT * FROM runs WHERE started_at >= ? AND dry_run = 0 ORDER BY id').all(
        since.toISOString(),
      ) as Record<string, unknown>[]
    ).map(toRun);
  }

  /**
   * The daemon's start-up checks failed: a `startup` run row, failed. A failure with the same
   * cause as the latest row's (a start-up still retrying) moves that row's end instead, so a
   * long outage is one row, not one per retry.
   */
  recordStartupFailure(error: string, errorKind: RunErrorKind, at = new Date()): void {
    this.transaction(() => {
      const latest = this.sql(
        'SELECT id, kind, outcome, error_kind FROM runs ORDER BY id DESC LIMIT 1',
      ).get() as { id: number; kind: string; outcome: string; error_kind: string | null } | undefined;
      if (latest?.kind === 'startup' && latest.outcome === 'failed' && latest.error_kind === errorKind) {
        this.sql('UPDATE runs SET ended_at = ?, error = ?, attempts = attempts + 1 WHERE id = ?').run(
          at.toISOString(),
          error,
          latest.id,
        );
        return;
      }
      const id = this.startRun('startup', false, at);
      this.sql(
        "UPDATE runs SET ended_at = ?, outcome = 'failed', error = ?, error_kind = ? WHERE id = ?",
      ).run(at.toISOString(), error, errorKind, id);
    });
  }

  lastRuns(limit = 10): RunRecord[] {
    return (
      this.sql('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit) as Record<string, unknown>[]
    ).map(toRun);
  }

  lastSuccess(kind?: RunKind): RunRecord | undefined {
    const row = (
      kind
        ? this.sql(
            "SELECT * FROM runs WHERE outcome = 'ok' AND dry_run = 0 AND kind = ? ORDER BY id DESC LIMIT 1",
          ).get(kind)
        : this.sql("SELECT * FROM runs WHERE outcome = 'ok' AND dry_run = 0 ORDER BY id DESC LIMIT 1").get()
    ) as Record<string, unknown> | undefined;
    return row ? toRun(row) : undefined;
  }

  /** The last run whose deal phase went well. */
  lastDealSuccess(): RunRecord | undefined {
    const row = this.sql(
      "SELECT * FROM runs WHERE deal_outcome = 'ok' AND dry_run = 0 ORDER BY id DESC LIMIT 1",
    ).get() as Record<string, unknown> | undefined;
    return row ? toRun(row) : undefined;
  }

  /** When a run of this kind last started, whatever became of it (dry runs aside). */
  lastAttempt(kind: RunKind): Date | undefined {
    const row = this.sql(
      'SELECT started_at FROM runs WHERE dry_run = 0 AND kind = ? ORDER BY id DESC LIMIT 1',
    ).get(kind) as { started_at: string } | undefined;
    return row ? new Date(row.started_at) : undefined;
  }

  // ── reconciliation findings ────────────────────────────────────────────────────────────────
  /** Replaces the findings of one kind with what the latest deep sync saw. */
  replaceFindings(kind: Finding['kind'], findings: readonly Finding[], at = new Date()): void {
    this.transaction(() => {
      this.sql('DELETE FROM findings WHERE kind = ?').run(kind);
      const insert = this.sql(
        'INSERT INTO findings (kind, patient_id, contact_ids, seen_at) VALUES (?, ?, ?, ?)',
      );
      for (const finding of findings) {
        insert.run(kind, finding.patientId, JSON.stringify(finding.contactIds), at.toISOString());
      }
    });
  }

  findings(kind: Finding['kind'], limit = 50): Finding[] {
    return (
      this.sql('SELECT patient_id, contact_ids FROM findings WHERE kind = ? ORDER BY patient_id LIMIT ?').all(
        kind,
        limit,
      ) as {
        patient_id: string;
        contact_ids: string;
      }[]
    ).map((row) => ({
      kind,
      patientId: row.patient_id,
      contactIds: JSON.parse(row.contact_ids) as number[],
    }));
  }

  findingCount(kind: Finding['kind']): number {
    return (this.sql('SELECT COUNT(*) AS n FROM findings WHERE kind = ?').get(kind) as { n: number }).n;
  }
}

function toRun(row: Record<string, unknown>): RunRecord {
  return {
    id: Number(row.id),
    kind: row.kind as RunKind,
    startedAt: String(row.started_at),
    endedAt: (row.ended_at as string | null) ?? null,
    outcome: row.outcome as RunOutcome,
    dryRun: row.dry_run === 1,
    read: Number(row.read),
    unchanged: Number(row.unchanged),
    created: Number(row.created),
    updated: Number(row.updated),
    linked: Number(row.linked),
    repaired: Number(row.repaired ?? 0),
    failed: Number(row.failed),
    requests: Number(row.requests),
    error: (row.error as string | null) ?? null,
    deals:
      typeof row.deal_outcome === 'string'
        ? {
            outcome: row.deal_outcome,
            read: Number(row.deal_read),
            written: Number(row.deal_written),
            failed: Number(row.deal_failed),
          }
        : null,
    errorKind: (row.error_kind as RunErrorKind | null | undefined) ?? null,
    attempts: Number(row.attempts ?? 1),
  };
}
