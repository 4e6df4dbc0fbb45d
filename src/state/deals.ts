import type { PipelineRole } from '../mapping/deal-map.ts';
import { FailureTable, type FailureRow } from './failure-table.ts';
import type { Sql, Transaction } from './mirror-table.ts';
import { refusedOf, restampPendingRows } from './pending-rows.ts';
import type { Checkpoint, StandingRefusals } from './store.ts';
import { readSourceMarks, writeSourceMarks } from './source-marks.ts';
import { type SentStamp, sentStampOf } from './sent-stamp.ts';

/** What the state knows of a reception's deal: what was last sent, and where the sync last put it. */
export interface DealLink {
  receptionId: string;
  patientId: string;
  leadId: number;
  /** `dealHash` of the name, price and custom fields last sent. */
  hash: string;
  /** The reception's state and pipeline role when the sync last placed the deal. */
  state: string;
  role: PipelineRole;
  /** The pipeline and stage the sync last put the deal in (a manager may have moved it since). */
  pipelineId: number;
  statusId: number;
  /**
   * The stage the sync itself last sent the deal to (a create or a move), noted before the request:
   * a won or lost deal still standing there is the sync's own, which it may undo when IDENT changes
   * its mind; a manager's won or lost is not. Unknown for links written before it was kept.
   */
  placed?: { pipelineId: number; statusId: number } | undefined;
  /** Where the sync had put it before `placed`, while amoCRM has not confirmed that move. */
  placedPrior?: { pipelineId: number; statusId: number } | undefined;
}

export interface SavedDealLink extends DealLink {
  /** Fields amoCRM refused in this write (recorded, or their last try moved). */
  refused?: readonly { field: string; detail: string }[];
  /**
   * Fields this write put into amoCRM: their refusals end, the others stand (at the new hash).
   * Absent: every field landed (a create, or a deal found holding the reception's data).
   */
  landed?: readonly string[];
}

export interface DealPending extends Omit<DealLink, 'leadId'> {
  requestId: string;
  /** The highest deal id known before the create was sent: the new deal's id is above it. */
  knownMaxId: number;
  createdAt: string;
  /** When the create was sent (wall and monotonic clocks): it is not called lost before amoCRM had time. */
  sent: SentStamp;
  /**
   * Values amoCRM refused before this create was sent without them: they stand once it is found,
   * as they would have had its answer arrived.
   */
  refused: { field: string; detail: string }[];
}

export interface DealFailure extends Omit<FailureRow, 'key'> {
  receptionId: string;
}

export interface DealRefusal {
  receptionId: string;
  field: string;
  detail: string;
  /** When amoCRM first refused it. */
  at: string;
  /** When it was last sent (and refused): a deep sync tries it again once a day. */
  triedAt: string;
}

/** The last deal run's counts, for `status`. */
export interface DealRunSummary {
  at: string;
  kind: string;
  outcome: string;
  read: number;
  created: number;
  updated: number;
  moved: number;
  linked: number;
  unchanged: number;
  failed: number;
  /** Why a failed run failed (one sentence; never personal data). */
  error?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deal_links (
  reception_id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL,
  lead_id INTEGER NOT NULL,
  hash TEXT NOT NULL,
  state TEXT NOT NULL,
  role TEXT NOT NULL,
  pipeline_id INTEGER NOT NULL,
  status_id INTEGER NOT NULL,
  synced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deal_pending (
  reception_id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  state TEXT NOT NULL,
  role TEXT NOT NULL,
  pipeline_id INTEGER NOT NULL,
  status_id INTEGER NOT NULL,
  known_max_id INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deal_failures (
  reception_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  due_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deal_failures_due ON deal_failures (due_at);
CREATE TABLE IF NOT EXISTS deal_relinks (
  reception_id TEXT PRIMARY KEY,
  lead_id INTEGER NOT NULL,
  patient_id TEXT NOT NULL,
  from_contact_id INTEGER,
  to_contact_id INTEGER NOT NULL,
  at TEXT NOT NULL,
  unlink_refused_at TEXT
);
CREATE TABLE IF NOT EXISTS deal_refusals (
  reception_id TEXT NOT NULL,
  field_key TEXT NOT NULL,
  detail TEXT NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (reception_id, field_key)
) WITHOUT ROWID;
`;

interface LinkColumns {
  reception_id: string;
  patient_id: string;
  hash: string;
  state: string;
  role: string;
  pipeline_id: number;
  status_id: number;
  placed_pipeline_id?: number | null;
  placed_status_id?: number | null;
  placed_prior_pipeline_id?: number | null;
  placed_prior_status_id?: number | null;
}

const placementOf = (row: LinkColumns) => ({
  receptionId: row.reception_id,
  patientId: row.patient_id,
  hash: row.hash,
  state: row.state,
  role: row.role as PipelineRole,
  pipelineId: row.pipeline_id,
  statusId: row.status_id,
  placed:
    typeof row.placed_pipeline_id === 'number' && typeof row.placed_status_id === 'number'
      ? { pipelineId: row.placed_pipeline_id, statusId: row.placed_status_id }
      : undefined,
  placedPrior:
    typeof row.placed_prior_pipeline_id === 'number' && typeof row.placed_prior_status_id === 'number'
      ? { pipelineId: row.placed_prior_pipeline_id, statusId: row.placed_prior_status_id }
      : undefined,
});

/** A re-link of a deal's main contact, written before its requests (see DealRelinker). */
export interface DealRelink {
  receptionId: string;
  leadId: number;
  /** The reception's patient in IDENT now. */
  patientId: string;
  /** The contact the deal belonged to (unlinked once the new one is main), if it had one. */
  fromContactId: number | null;
  toContactId: number;
}

/** A reception gone from IDENT whose deal is (being) closed. */
export interface DeletedReception {
  receptionId: string;
  leadId: number;
  at: string;
  closed: boolean;
}

/** The lost stage's id in every pipeline (amocrm-api-php LeadModel::LOST_STATUS_ID). */
const LOST = 143;

/**
 * The deal sync's memory, in the same SQLite file as the contacts' and with the same rules:
 * reception → deal links with what was last sent and where the deal was put, creates in flight
 * (written before the request), failures with back-off, refused fields, and a checkpoint of its
 * own. Every change a batch makes is one transaction.
 */
export class DealStore {
  private readonly sql: Sql;
  private readonly transaction: Transaction;
  private readonly readOnly: boolean;
  private readonly failureTable: FailureTable;

  constructor(sql: Sql, transaction: Transaction, readOnly: boolean) {
    this.sql = sql;
    this.transaction = transaction;
    this.readOnly = readOnly;
    this.failureTable = new FailureTable(sql, 'deal_failures', 'reception_id');
  }

  createSchema(exec: (script: string) => void): void {
    exec(SCHEMA);
    // Added after the first release: when each refusal was last tried.
    const refusalColumns = this.sql('PRAGMA table_info(deal_refusals)').all() as { name: string }[];
    if (!refusalColumns.some((column) => column.name === 'tried_at')) {
      exec('ALTER TABLE deal_refusals ADD COLUMN tried_at TEXT');
      exec('UPDATE deal_refusals SET tried_at = at WHERE tried_at IS NULL');
    }
    // Added after the first release with deals: an existing state folder carries on.
    const columns = new Set(
      (this.sql('PRAGMA table_info(deal_pending)').all() as { name: string }[]).map((column) => column.name),
    );
    if (!columns.has('sent_monotonic')) exec('ALTER TABLE deal_pending ADD COLUMN sent_monotonic INTEGER');
    if (!columns.has('sent_boot'))
      exec("ALTER TABLE deal_pending ADD COLUMN sent_boot TEXT NOT NULL DEFAULT ''");
    if (!columns.has('refused'))
      exec("ALTER TABLE deal_pending ADD COLUMN refused TEXT NOT NULL DEFAULT '[]'");
    // Added with issue 19: where the sync itself put the deal, and receptions deleted in IDENT.
    const linkColumns = new Set(
      (this.sql('PRAGMA table_info(deal_links)').all() as { name: string }[]).map((column) => column.name),
    );
    if (!linkColumns.has('placed_pipeline_id'))
      exec('ALTER TABLE deal_links ADD COLUMN placed_pipeline_id INTEGER');
    if (!linkColumns.has('placed_status_id'))
      exec('ALTER TABLE deal_links ADD COLUMN placed_status_id INTEGER');
    // Where the sync had put the deal before a move noted but not yet confirmed (a kill may have
    // kept that move from ever being sent).
    if (!linkColumns.has('placed_prior_pipeline_id'))
      exec('ALTER TABLE deal_links ADD COLUMN placed_prior_pipeline_id INTEGER');
    if (!linkColumns.has('placed_prior_status_id'))
      exec('ALTER TABLE deal_links ADD COLUMN placed_prior_status_id INTEGER');
    if (!linkColumns.has('deleted_at')) exec('ALTER TABLE deal_links ADD COLUMN deleted_at TEXT');
    const relinkColumns = new Set(
      (this.sql('PRAGMA table_info(deal_relinks)').all() as { name: string }[]).map((column) => column.name),
    );
    if (!relinkColumns.has('unlink_refused_at'))
      exec('ALTER TABLE deal_relinks ADD COLUMN unlink_refused_at TEXT');
    if (!linkColumns.has('deleted_closed'))
      exec('ALTER TABLE deal_links ADD COLUMN deleted_closed INTEGER NOT NULL DEFAULT 0');
  }

  // ── checkpoint and last run ────────────────────────────────────────────────────────────────
  /** IDENT's clock, and its rowversion mark where it has one, as the last deal run began. */
  checkpoint(): Checkpoint | undefined {
    const value = this.meta('deal_checkpoint');
    if (!value) return undefined;
    const rowVersion = this.meta('deal_checkpoint_rowversion');
    return {
      at: new Date(value),
      ...(rowVersion ? { rowVersion } : {}),
      ...readSourceMarks(this.meta('deal_checkpoint_sources')),
    };
  }

  /** The time and the rowversion mark move together: a kill between them never pairs one run's with another's. */
  setCheckpoint(mark: Checkpoint): void {
    this.transaction(() => {
      this.setMetaValue('deal_checkpoint', mark.at.toISOString());
      this.setMetaValue('deal_checkpoint_rowversion', mark.rowVersion ?? '');
      this.setMetaValue('deal_checkpoint_sources', writeSourceMarks(mark.sources));
    });
  }

  lastRun(): DealRunSummary | undefined {
    const value = this.meta('deal_last_run');
    return value ? (JSON.parse(value) as DealRunSummary) : undefined;
  }

  setLastRun(summary: DealRunSummary): void {
    this.setMetaValue('deal_last_run', JSON.stringify(summary));
  }

  /** When a deal run last read every reception of the window (a deep sync, or the first run). */
  fullReadAt(): Date | undefined {
    const value = this.readOnly && !this.hasTables() ? undefined : this.meta('deal_full_read_at');
    return value ? new Date(value) : undefined;
  }

  setFullReadAt(at: Date): void {
    this.setMetaValue('deal_full_read_at', at.toISOString());
  }

  /** When a deep deal run was last begun, whatever became of it. */
  deepAttemptAt(): Date | undefined {
    const value = this.readOnly && !this.hasTables() ? undefined : this.meta('deal_deep_attempt_at');
    return value ? new Date(value) : undefined;
  }

  setDeepAttemptAt(at: Date): void {
    this.setMetaValue('deal_deep_attempt_at', at.toISOString());
  }

  // ── links ──────────────────────────────────────────────────────────────────────────────────
  links(receptionIds: readonly string[]): Map<string, DealLink> {
    const found = new Map<string, DealLink>();
    if (receptionIds.length === 0) return found;
    const rows = this.sql(
      'SELECT * FROM deal_links WHERE reception_id IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(receptionIds)) as unknown as (LinkColumns & { lead_id: number })[];
    for (const row of rows) found.set(row.reception_id, { ...placementOf(row), leadId: row.lead_id });
    return found;
  }

  linkCount(): number {
    return this.countOf('deal_links');
  }

  /**
   * Stores what amoCRM now holds for these receptions, with their refused fields; their pending
   * creates and failures end in the same transaction.
   */
  saveLinks(links: readonly SavedDealLink[], at = new Date()): void {
    if (links.length === 0) return;
    this.transaction(() => {
      const upsert = this.sql(
        `INSERT INTO deal_links (reception_id, patient_id, lead_id, hash, state, role, pipeline_id, status_id, synced_at,
           placed_pipeline_id, placed_status_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (reception_id) DO UPDATE SET patient_id = excluded.patient_id, lead_id = excluded.lead_id,
           hash = excluded.hash, state = excluded.state, role = excluded.role, pipeline_id = excluded.pipeline_id,
           status_id = excluded.status_id, synced_at = excluded.synced_at,
           placed_pipeline_id = COALESCE(excluded.placed_pipeline_id, deal_links.placed_pipeline_id),
           placed_status_id = COALESCE(excluded.placed_status_id, deal_links.placed_status_id),
           placed_prior_pipeline_id = NULL, placed_prior_status_id = NULL,
           deleted_at = NULL, deleted_closed = 0`,
      );
      const clearPending = this.sql('DELETE FROM deal_pending WHERE reception_id = ?');
      const clearRefusals = this.sql('DELETE FROM deal_refusals WHERE reception_id = ?');
      const clearRefusal = this.sql('DELETE FROM deal_refusals WHERE reception_id = ? AND field_key = ?');
      const restamp = this.sql('UPDATE deal_refusals SET hash = ? WHERE reception_id = ?');
      const addRefusal = this.sql(
        `INSERT INTO deal_refusals (reception_id, field_key, detail, hash, at, tried_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET detail = excluded.detail, hash = excluded.hash, tried_at = excluded.tried_at`,
      );
      const when = at.toISOString();
      for (const link of links) {
        upsert.run(
          link.receptionId,
          link.patientId,
          link.leadId,
          link.hash,
          link.state,
          link.role,
          link.pipelineId,
          link.statusId,
          when,
          link.placed?.pipelineId ?? null,
          link.placed?.statusId ?? null,
        );
        clearPending.run(link.receptionId);
        if (link.landed === undefined) clearRefusals.run(link.receptionId);
        else {
          for (const field of link.landed) clearRefusal.run(link.receptionId, field);
          restamp.run(link.hash, link.receptionId);
        }
        for (const refused of link.refused ?? [])
          addRefusal.run(
            link.receptionId,
            refused.field,
            refused.detail.slice(0, 500),
            link.hash,
            when,
            when,
          );
      }
      this.failureTable.clear(links.map((link) => link.receptionId));
    });
  }

  /**
   * The sync is about to move these deals to these stages: noted before the request, so a move
   * amoCRM applied before a crash still counts as the sync's own.
   */
  notePlacing(entries: readonly { receptionId: string; pipelineId: number; statusId: number }[]): void {
    if (entries.length === 0) return;
    this.transaction(() => {
      // The placing before stays known until amoCRM confirms this one (a noted move may never go).
      const update = this.sql(
        `UPDATE deal_links SET
           placed_prior_pipeline_id = CASE WHEN placed_pipeline_id IS ? AND placed_status_id IS ?
             THEN placed_prior_pipeline_id ELSE placed_pipeline_id END,
           placed_prior_status_id = CASE WHEN placed_pipeline_id IS ? AND placed_status_id IS ?
             THEN placed_prior_status_id ELSE placed_status_id END,
           placed_pipeline_id = ?, placed_status_id = ?
         WHERE reception_id = ?`,
      );
      for (const { pipelineId, statusId, receptionId } of entries)
        update.run(pipelineId, statusId, pipelineId, statusId, pipelineId, statusId, receptionId);
    });
  }

  // ── re-links (a visit moved to another patient) ────────────────────────────────────────────
  /** Written before the link and unlink requests: a crash between them is finished by the next run. */
  addRelink(relink: DealRelink, at = new Date()): void {
    this.sql(
      `INSERT INTO deal_relinks (reception_id, lead_id, patient_id, from_contact_id, to_contact_id, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (reception_id) DO UPDATE SET lead_id = excluded.lead_id, patient_id = excluded.patient_id,
         from_contact_id = excluded.from_contact_id, to_contact_id = excluded.to_contact_id, at = excluded.at,
         unlink_refused_at = NULL`,
    ).run(
      relink.receptionId,
      relink.leadId,
      relink.patientId,
      relink.fromContactId,
      relink.toContactId,
      at.toISOString(),
    );
  }

  /**
   * Re-links not finished. `withRefusedUnlinks`: also those whose new contact is linked but whose
   * old one amoCRM would not unlink (tried again by deep syncs only, not every few minutes).
   */
  relinks(options: { withRefusedUnlinks: boolean } = { withRefusedUnlinks: true }): DealRelink[] {
    if (this.readOnly && !this.hasTables()) return [];
    const where = options.withRefusedUnlinks ? '' : 'WHERE unlink_refused_at IS NULL ';
    return (
      this.sql(`SELECT * FROM deal_relinks ${where}ORDER BY at`).all() as {
        reception_id: string;
        lead_id: number;
        patient_id: string;
        from_contact_id: number | null;
        to_contact_id: number;
      }[]
    ).map((row) => ({
      receptionId: row.reception_id,
      leadId: row.lead_id,
      patientId: row.patient_id,
      fromContactId: row.from_contact_id,
      toContactId: row.to_contact_id,
    }));
  }

  /** amoCRM holds the re-link: the intent ends and the link names the new patient, in one transaction. */
  finishRelink(relink: DealRelink): void {
    this.transaction(() => {
      this.sql('DELETE FROM deal_relinks WHERE reception_id = ?').run(relink.receptionId);
      this.sql('UPDATE deal_links SET patient_id = ? WHERE reception_id = ? AND lead_id = ?').run(
        relink.patientId,
        relink.receptionId,
        relink.leadId,
      );
      this.sql('UPDATE mirror_leads SET contact_id = ? WHERE lead_id = ?').run(
        relink.toContactId,
        relink.leadId,
      );
    });
  }

  /**
   * The new contact is the deal's main one, but amoCRM refused to unlink the old: the link names
   * the new patient, and the intent stays for the unlink alone (retried by deep syncs).
   */
  unlinkRefused(relink: DealRelink, at = new Date()): void {
    this.transaction(() => {
      this.sql('UPDATE deal_relinks SET unlink_refused_at = ? WHERE reception_id = ?').run(
        at.toISOString(),
        relink.receptionId,
      );
      this.sql('UPDATE deal_links SET patient_id = ? WHERE reception_id = ? AND lead_id = ?').run(
        relink.patientId,
        relink.receptionId,
        relink.leadId,
      );
    });
  }

  /** amoCRM refused the re-link for good: the intent ends (the reception's failure says why). */
  dropRelink(receptionId: string): void {
    this.sql('DELETE FROM deal_relinks WHERE reception_id = ?').run(receptionId);
  }

  // ── receptions deleted in IDENT ────────────────────────────────────────────────────────────
  /**
   * Linked receptions whose deal is open in amoCRM (the mirror) and not yet closed as deleted:
   * a deep sync that did not read them asks IDENT whether they still exist.
   */
  linksWithOpenDeals(
    limit = 10_000,
    after = '',
  ): { receptionId: string; leadId: number; pipelineId: number }[] {
    return (
      this.sql(
        `SELECT l.reception_id, l.lead_id, m.pipeline_id FROM deal_links l JOIN mirror_leads m ON m.lead_id = l.lead_id
         WHERE m.status_id NOT IN (142, 143) AND l.deleted_closed = 0 AND l.reception_id > ?
         ORDER BY l.reception_id LIMIT ?`,
      ).all(after, limit) as { reception_id: string; lead_id: number; pipeline_id: number }[]
    ).map((row) => ({ receptionId: row.reception_id, leadId: row.lead_id, pipelineId: row.pipeline_id }));
  }

  /** Where the last deep sync's lookups of unread receptions stopped: the next goes on from there. */
  sweepCursor(): string {
    return this.meta('deal_sweep_after') ?? '';
  }

  setSweepCursor(after: string): void {
    this.setMetaValue('deal_sweep_after', after);
  }

  /**
   * Before the close is sent: the reception is recorded as deleted, its state as `deleted` (so a
   * reception restored later counts as a change) and the lost stage as the sync's own placing.
   */
  markDeleted(receptionId: string, pipelineId: number, at = new Date()): void {
    this.sql(
      `UPDATE deal_links SET deleted_at = COALESCE(deleted_at, ?), state = 'deleted', placed_pipeline_id = ?,
         placed_status_id = ? WHERE reception_id = ?`,
    ).run(at.toISOString(), pipelineId, LOST, receptionId);
  }

  /** amoCRM took the close: the deal stays closed unless a manager reopens it (then it is left). */
  deletedClosed(receptionId: string, leadId: number, pipelineId: number): void {
    this.transaction(() => {
      this.sql(
        'UPDATE deal_links SET deleted_closed = 1, pipeline_id = ?, status_id = ? WHERE reception_id = ?',
      ).run(pipelineId, LOST, receptionId);
      this.sql('UPDATE mirror_leads SET status_id = ? WHERE lead_id = ?').run(LOST, leadId);
    });
  }

  deletedReceptions(limit = 20): DeletedReception[] {
    if (!this.knowsDeleted()) return [];
    return (
      this.sql(
        'SELECT reception_id, lead_id, deleted_at, deleted_closed FROM deal_links WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC LIMIT ?',
      ).all(limit) as { reception_id: string; lead_id: number; deleted_at: string; deleted_closed: number }[]
    ).map((row) => ({
      receptionId: row.reception_id,
      leadId: row.lead_id,
      at: row.deleted_at,
      closed: row.deleted_closed === 1,
    }));
  }

  deletedCount(): number {
    if (!this.knowsDeleted()) return 0;
    return (
      this.sql('SELECT COUNT(*) AS n FROM deal_links WHERE deleted_at IS NOT NULL').get() as { n: number }
    ).n;
  }

  /** The reception's deal is gone from amoCRM: the link ends and the reception is due again, in one transaction. */
  unlinkForRetry(receptionId: string, reason: string, at = new Date()): void {
    this.transaction(() => {
      this.sql('DELETE FROM deal_links WHERE reception_id = ?').run(receptionId);
      this.failureTable.dueNow(receptionId, reason, at);
    });
  }

  // ── pending creates ────────────────────────────────────────────────────────────────────────
  /**
   * Written before a create request is sent, with when it is sent: after a crash these are looked
   * up, never blindly created again.
   */
  addPending(entries: readonly Omit<DealPending, 'createdAt' | 'sent' | 'refused'>[], sent: SentStamp): void {
    if (entries.length === 0) return;
    this.transaction(() => {
      const insert = this.sql(
        `INSERT INTO deal_pending (reception_id, patient_id, request_id, hash, state, role, pipeline_id, status_id, known_max_id, created_at, sent_monotonic, sent_boot)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (reception_id) DO UPDATE SET patient_id = excluded.patient_id, request_id = excluded.request_id,
           hash = excluded.hash, state = excluded.state, role = excluded.role, pipeline_id = excluded.pipeline_id,
           status_id = excluded.status_id, known_max_id = excluded.known_max_id, created_at = excluded.created_at,
           sent_monotonic = excluded.sent_monotonic, sent_boot = excluded.sent_boot, refused = '[]'`,
      );
      for (const entry of entries)
        insert.run(
          entry.receptionId,
          entry.patientId,
          entry.requestId,
          entry.hash,
          entry.state,
          entry.role,
          entry.pipelineId,
          entry.statusId,
          entry.knownMaxId,
          new Date(sent.sentAt).toISOString(),
          sent.monotonic ?? null,
          sent.boot,
        );
    });
  }

  /**
   * A new sent time for pending creates whose stamp could not be trusted, or that are sent again
   * (then with the values refused so far, left out of what is sent), in one transaction.
   */
  restampPending(
    entries: readonly {
      receptionId: string;
      sent: SentStamp;
      refused?: readonly { field: string; detail: string }[];
    }[],
  ): void {
    if (entries.length === 0) return;
    this.transaction(() =>
      restampPendingRows(
        (query) => this.sql(query),
        { pending: 'deal_pending', key: 'reception_id', refusals: 'deal_refusals' },
        entries.map(({ receptionId, ...rest }) => ({ key: receptionId, ...rest })),
      ),
    );
  }

  /** Creates not yet proven, oldest first; `receptionId` narrows them to one reception's. */
  pending(options: { receptionId?: string; limit?: number } = {}): DealPending[] {
    if (this.readOnly && !this.hasTables()) return [];
    const rows = (options.receptionId === undefined
      ? this.sql('SELECT * FROM deal_pending ORDER BY created_at LIMIT ?').all(options.limit ?? 10_000)
      : this.sql('SELECT * FROM deal_pending WHERE reception_id = ?').all(
          options.receptionId,
        )) as unknown as (LinkColumns & {
      request_id: string;
      known_max_id: number;
      created_at: string;
      sent_monotonic: number | null;
      sent_boot: string;
      refused: string;
    })[];
    return rows.map((row) => ({
      ...placementOf(row),
      requestId: row.request_id,
      knownMaxId: row.known_max_id,
      createdAt: row.created_at,
      sent: sentStampOf(row),
      refused: refusedOf(row.refused),
    }));
  }

  pendingCount(): number {
    return this.countOf('deal_pending');
  }

  // ── failures ───────────────────────────────────────────────────────────────────────────────
  /** Receptions not synced, with the reason; their pending creates end in the same transaction. */
  recordFailures(
    entries: readonly { receptionId: string; reason: string; dueNow?: boolean }[],
    at = new Date(),
  ): void {
    if (entries.length === 0) return;
    this.transaction(() => {
      this.failureTable.record(
        entries.map((entry) => ({ key: entry.receptionId, reason: entry.reason, dueNow: entry.dueNow })),
        at,
      );
      const clearPending = this.sql('DELETE FROM deal_pending WHERE reception_id = ?');
      for (const entry of entries) clearPending.run(entry.receptionId);
    });
  }

  clearFailures(receptionIds: readonly string[]): void {
    if (receptionIds.length === 0) return;
    this.transaction(() => this.failureTable.clear(receptionIds));
  }

  failuresDue(now = new Date(), limit = 200): string[] {
    return this.failureTable.due(now, limit);
  }

  failedAmong(receptionIds: readonly string[]): Set<string> {
    return this.failureTable.among(receptionIds);
  }

  failures(limit = 20): DealFailure[] {
    if (this.readOnly && !this.hasTables()) return [];
    return this.failureTable.list(limit).map(({ key, ...rest }) => ({ receptionId: key, ...rest }));
  }

  failureCount(): number {
    return this.countOf('deal_failures');
  }

  // ── refused fields ─────────────────────────────────────────────────────────────────────────
  /** These receptions' deals hold every value of the map after all (a deep sync saw it): their refusals end. */
  endRefusals(receptionIds: readonly string[]): void {
    if (receptionIds.length === 0) return;
    this.sql('DELETE FROM deal_refusals WHERE reception_id IN (SELECT value FROM json_each(?))').run(
      JSON.stringify(receptionIds),
    );
  }

  /** The standing refusals of these receptions: the hash they stand at and their oldest last try. */
  standingRefusals(receptionIds: readonly string[]): Map<string, StandingRefusals> {
    const found = new Map<string, StandingRefusals>();
    if (receptionIds.length === 0) return found;
    const rows = this.sql(
      `SELECT reception_id, MIN(hash) AS hash, MIN(COALESCE(tried_at, at)) AS tried_at FROM deal_refusals
       WHERE reception_id IN (SELECT value FROM json_each(?)) GROUP BY reception_id`,
    ).all(JSON.stringify(receptionIds)) as { reception_id: string; hash: string; tried_at: string }[];
    for (const row of rows) found.set(row.reception_id, { hash: row.hash, triedAt: new Date(row.tried_at) });
    return found;
  }

  refusals(limit = 20): DealRefusal[] {
    if (this.readOnly && !this.hasTables()) return [];
    return (
      this.sql('SELECT * FROM deal_refusals ORDER BY at DESC LIMIT ?').all(limit) as {
        reception_id: string;
        field_key: string;
        detail: string;
        at: string;
        tried_at?: string | null;
      }[]
    ).map((row) => ({
      receptionId: row.reception_id,
      field: row.field_key,
      detail: row.detail,
      at: row.at,
      triedAt: row.tried_at ?? row.at,
    }));
  }

  refusalCount(): number {
    return this.countOf('deal_refusals');
  }

  private countOf(table: string): number {
    if (this.readOnly && !this.hasTables()) return 0;
    return (this.sql(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  }

  private meta(key: string): string | undefined {
    return (this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)
      ?.value;
  }

  private setMetaValue(key: string, value: string): void {
    this.sql(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }

  /** A state folder opened read-only (`status`) may predate the deleted-reception columns. */
  private knowsDeleted(): boolean {
    if (!this.readOnly) return true;
    return (this.sql('PRAGMA table_info(deal_links)').all() as { name: string }[]).some(
      (column) => column.name === 'deleted_at',
    );
  }

  /** A state folder last written before deals existed, opened read-only (`status`), has none of these tables. */
  private hasTables(): boolean {
    return (
      this.sql("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'deal_links'").get() !==
      undefined
    );
  }
}
