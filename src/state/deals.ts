import type { PipelineRole } from '../mapping/deal-map.ts';
import type { Checkpoint } from './stream/checkpoint.ts';
import type { FailureRow } from './stream/failure-table.ts';
import type { PendingCommon } from './stream/pending-table.ts';
import type { RefusalRow, RefusedValue } from './stream/refusal-table.ts';
import {
  addMissingColumns,
  type Column,
  readMeta,
  type StateAccess,
  tableExists,
  upsertSql,
  valuesOf,
  writeMeta,
} from './stream/sql.ts';
import { StreamStore } from './stream/stream-store.ts';
import type { StreamLayout } from './stream/stream-tables.ts';

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
  refused?: readonly RefusedValue[];
  /**
   * Fields this write put into amoCRM: their refusals end, the others stand (at the new hash).
   * Absent: every field landed (a create, or a deal found holding the reception's data).
   */
  landed?: readonly string[];
}

/** A reception's deal create in flight. */
export interface DealPending extends Omit<DealLink, 'leadId'>, Omit<PendingCommon, 'key'> {}

type NewDealPending = Omit<DealPending, 'createdAt' | 'sent' | 'refused'>;

export interface DealFailure extends Omit<FailureRow, 'key'> {
  receptionId: string;
}

export interface DealRefusal extends Omit<RefusalRow, 'key' | 'hash'> {
  receptionId: string;
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

/** Where a reception's deal stands, as both its link and its pending create keep it. */
const PLACEMENT_COLUMNS: readonly Column<Omit<DealLink, 'leadId'>>[] = [
  { name: 'patient_id', value: (deal) => deal.patientId },
  { name: 'state', value: (deal) => deal.state },
  { name: 'role', value: (deal) => deal.role },
  { name: 'pipeline_id', value: (deal) => deal.pipelineId },
  { name: 'status_id', value: (deal) => deal.statusId },
];

const LINK_COLUMNS: readonly Column<DealLink, string>[] = [
  { name: 'reception_id', value: (link) => link.receptionId },
  ...PLACEMENT_COLUMNS,
  { name: 'lead_id', value: (link) => link.leadId },
  { name: 'hash', value: (link) => link.hash },
  { name: 'synced_at', value: (_, at) => at },
  { name: 'placed_pipeline_id', value: (link) => link.placed?.pipelineId ?? null },
  { name: 'placed_status_id', value: (link) => link.placed?.statusId ?? null },
];

/** A saved link keeps the sync's last placing unless it names a new one; the one before is settled. */
const LINK_UPDATES = {
  placed_pipeline_id: 'COALESCE(excluded.placed_pipeline_id, deal_links.placed_pipeline_id)',
  placed_status_id: 'COALESCE(excluded.placed_status_id, deal_links.placed_status_id)',
  placed_prior_pipeline_id: 'NULL',
  placed_prior_status_id: 'NULL',
  deleted_at: 'NULL',
  deleted_closed: '0',
};

const DEAL_STREAM: StreamLayout<NewDealPending, DealPending> = {
  checkpoint: { at: 'deal_checkpoint', rowVersion: 'deal_checkpoint_rowversion' },
  pending: {
    table: 'deal_pending',
    key: { name: 'reception_id', value: (entry) => entry.receptionId },
    columns: PLACEMENT_COLUMNS,
    read: (row, { key: _, ...common }) => ({ ...placementOf(row as unknown as LinkColumns), ...common }),
  },
  failures: 'deal_failures',
  refusals: 'deal_refusals',
};

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
export class DealStore extends StreamStore<'receptionId', NewDealPending, DealPending> {
  constructor(access: StateAccess) {
    super(access, DEAL_STREAM, 'receptionId');
  }

  createSchema(exec: (script: string) => void): void {
    exec(SCHEMA);
    // Added after the first releases: an existing state folder carries on.
    addMissingColumns(this.sql, exec, 'deal_refusals', [
      {
        column: 'tried_at',
        definition: 'TEXT',
        fill: 'UPDATE deal_refusals SET tried_at = at WHERE tried_at IS NULL',
      },
    ]);
    addMissingColumns(this.sql, exec, 'deal_pending', [
      { column: 'sent_monotonic', definition: 'INTEGER' },
      { column: 'sent_boot', definition: "TEXT NOT NULL DEFAULT ''" },
      { column: 'refused', definition: "TEXT NOT NULL DEFAULT '[]'" },
    ]);
    // Issue 19: where the sync itself put the deal (and, while a move noted is not confirmed, where
    // it had put it before: a kill may have kept that move from ever being sent), and receptions
    // deleted in IDENT.
    addMissingColumns(this.sql, exec, 'deal_links', [
      { column: 'placed_pipeline_id', definition: 'INTEGER' },
      { column: 'placed_status_id', definition: 'INTEGER' },
      { column: 'placed_prior_pipeline_id', definition: 'INTEGER' },
      { column: 'placed_prior_status_id', definition: 'INTEGER' },
      { column: 'deleted_at', definition: 'TEXT' },
      { column: 'deleted_closed', definition: 'INTEGER NOT NULL DEFAULT 0' },
    ]);
    addMissingColumns(this.sql, exec, 'deal_relinks', [{ column: 'unlink_refused_at', definition: 'TEXT' }]);
  }

  // ── checkpoint and last run ────────────────────────────────────────────────────────────────
  /** IDENT's clock, and its rowversion mark where it has one, as the last deal run began. */
  checkpoint(): Checkpoint | undefined {
    return this.tables.checkpoint.read();
  }

  /** The time and the rowversion mark move together: a kill between them never pairs one run's with another's. */
  setCheckpoint(mark: Checkpoint): void {
    this.tables.checkpoint.write(mark);
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
    if (this.readOnly && !this.hasTables()) return 0;
    return (this.sql('SELECT COUNT(*) AS n FROM deal_links').get() as { n: number }).n;
  }

  /**
   * Stores what amoCRM now holds for these receptions, with their refused fields; their pending
   * creates and failures end in the same transaction.
   */
  saveLinks(links: readonly SavedDealLink[], at = new Date()): void {
    if (links.length === 0) return;
    this.transaction(() => {
      const upsert = this.sql(upsertSql('deal_links', 'reception_id', LINK_COLUMNS, LINK_UPDATES));
      for (const link of links) upsert.run(...valuesOf(LINK_COLUMNS, link, at.toISOString()));
      this.tables.settle(
        links.map((link) => ({
          key: link.receptionId,
          hash: link.hash,
          refused: link.refused,
          landed: link.landed,
        })),
        at,
      );
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
      this.tables.failures.dueNow(receptionId, reason, at);
    });
  }

  // ── refused fields ─────────────────────────────────────────────────────────────────────────
  refusals(limit = 20): DealRefusal[] {
    return this.refusalRows(limit).map(({ hash: _, ...refusal }) => refusal);
  }

  private meta(key: string): string | undefined {
    return readMeta(this.sql, key);
  }

  private setMetaValue(key: string, value: string): void {
    writeMeta(this.sql, key, value);
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
    return tableExists(this.sql, 'deal_links');
  }
}
