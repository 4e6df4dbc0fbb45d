import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export type RunKind = 'incremental' | 'deep' | 'single';
export type RunOutcome = 'ok' | 'failed' | 'stopped' | 'running';

export interface RunCounts {
  read: number;
  unchanged: number;
  created: number;
  updated: number;
  linked: number;
  failed: number;
  requests: number;
}

export interface RunRecord extends RunCounts {
  id: number;
  kind: RunKind;
  startedAt: string;
  endedAt: string | null;
  outcome: RunOutcome;
  error: string | null;
  dryRun: boolean;
}

export interface Link {
  patientId: string;
  contactId: number;
  hash: string;
}

export interface Failure {
  patientId: string;
  reason: string;
  attempts: number;
  firstAt: string;
  lastAt: string;
}

export interface Pending {
  patientId: string;
  requestId: string;
  hash: string;
  createdAt: string;
}

export interface Finding {
  kind: 'duplicate' | 'orphan';
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
CREATE TABLE IF NOT EXISTS findings (
  kind TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  contact_ids TEXT NOT NULL,
  seen_at TEXT NOT NULL,
  PRIMARY KEY (kind, patient_id)
);
`;

const KEEP_RUNS = 1000;

/**
 * The sync's memory, in one SQLite file in STATE_DIR: the checkpoint, patient → contact links with
 * the hash last sent, creates in flight, failures, run history and reconciliation findings. Every
 * change a batch makes is one transaction, and every write touches only that batch's rows.
 * WAL with synchronous=FULL: a committed batch survives `kill -9` and power loss.
 */
export class StateStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  constructor(stateDir: string, options: { readOnly?: boolean } = {}) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.path = join(stateDir, 'state.sqlite');
    this.db = new DatabaseSync(this.path, { readOnly: options.readOnly ?? false });
    this.db.exec('PRAGMA busy_timeout = 5000;');
    if (!options.readOnly) {
      this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
      this.db.exec(SCHEMA);
    }
  }

  close(): void {
    this.db.close();
  }

  // ── checkpoint ─────────────────────────────────────────────────────────────────────────────
  /** The database-clock time up to which every change is handled (IDENT wall clock). */
  checkpoint(): Date | undefined {
    const row = this.sql('SELECT value FROM meta WHERE key = ?').get('checkpoint') as
      { value: string } | undefined;
    return row ? new Date(row.value) : undefined;
  }

  setCheckpoint(at: Date): void {
    this.sql(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run('checkpoint', at.toISOString());
  }

  // ── links ──────────────────────────────────────────────────────────────────────────────────
  link(patientId: string): Link | undefined {
    const row = this.sql('SELECT contact_id, hash FROM links WHERE patient_id = ?').get(patientId) as
      { contact_id: number; hash: string } | undefined;
    return row ? { patientId, contactId: row.contact_id, hash: row.hash } : undefined;
  }

  /** The links of many patients in one query (a per-row query costs more than the row's mapping). */
  links(patientIds: readonly string[]): Map<string, Link> {
    const found = new Map<string, Link>();
    if (patientIds.length === 0) return found;
    const rows = this.sql(
      'SELECT patient_id, contact_id, hash FROM links WHERE patient_id IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(patientIds)) as { patient_id: string; contact_id: number; hash: string }[];
    for (const row of rows) {
      found.set(row.patient_id, { patientId: row.patient_id, contactId: row.contact_id, hash: row.hash });
    }
    return found;
  }

  /** Which of these patients the state links to a contact. */
  linkedAmong(patientIds: readonly string[]): Set<string> {
    return new Set(this.links(patientIds).keys());
  }

  linkCount(): number {
    return (this.sql('SELECT COUNT(*) AS n FROM links').get() as { n: number }).n;
  }

  /** Stores what amoCRM now holds for these patients: links, hashes; their pending creates and failures end. */
  saveLinks(links: readonly Link[], at = new Date()): void {
    if (links.length === 0) return;
    this.transaction(() => {
      const upsert = this.sql(
        'INSERT INTO links (patient_id, contact_id, hash, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT (patient_id) DO UPDATE SET contact_id = excluded.contact_id, hash = excluded.hash, synced_at = excluded.synced_at',
      );
      const clearPending = this.sql('DELETE FROM pending_creates WHERE patient_id = ?');
      const clearFailure = this.sql('DELETE FROM failures WHERE patient_id = ?');
      for (const link of links) {
        upsert.run(link.patientId, link.contactId, link.hash, at.toISOString());
        clearPending.run(link.patientId);
        clearFailure.run(link.patientId);
      }
    });
  }

  /** Unchanged patients: only a failure they had is cleared. */
  clearFailures(patientIds: readonly string[]): void {
    if (patientIds.length === 0) return;
    this.transaction(() => {
      const clear = this.sql('DELETE FROM failures WHERE patient_id = ?');
      for (const id of patientIds) clear.run(id);
    });
  }

  unlink(patientId: string): void {
    this.sql('DELETE FROM links WHERE patient_id = ?').run(patientId);
  }

  // ── pending creates ────────────────────────────────────────────────────────────────────────
  /** Written before a create request is sent: after a crash these are looked up, never blindly created again. */
  addPending(entries: readonly Omit<Pending, 'createdAt'>[], at = new Date()): void {
    if (entries.length === 0) return;
    this.transaction(() => {
      const insert = this.sql(
        'INSERT INTO pending_creates (patient_id, request_id, hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (patient_id) DO UPDATE SET request_id = excluded.request_id, hash = excluded.hash, created_at = excluded.created_at',
      );
      for (const entry of entries) insert.run(entry.patientId, entry.requestId, entry.hash, at.toISOString());
    });
  }

  pending(limit = 10_000): Pending[] {
    return (
      this.sql(
        'SELECT patient_id, request_id, hash, created_at FROM pending_creates ORDER BY created_at LIMIT ?',
      ).all(limit) as { patient_id: string; request_id: string; hash: string; created_at: string }[]
    ).map((row) => ({
      patientId: row.patient_id,
      requestId: row.request_id,
      hash: row.hash,
      createdAt: row.created_at,
    }));
  }

  removePending(patientIds: readonly string[]): void {
    if (patientIds.length === 0) return;
    this.transaction(() => {
      const remove = this.sql('DELETE FROM pending_creates WHERE patient_id = ?');
      for (const id of patientIds) remove.run(id);
    });
  }

  // ── failures ───────────────────────────────────────────────────────────────────────────────
  recordFailures(entries: readonly { patientId: string; reason: string }[], at = new Date()): void {
    if (entries.length === 0) return;
    this.transaction(() => {
      const upsert = this.sql(
        'INSERT INTO failures (patient_id, reason, attempts, first_at, last_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (patient_id) DO UPDATE SET reason = excluded.reason, attempts = attempts + 1, last_at = excluded.last_at',
      );
      const clearPending = this.sql('DELETE FROM pending_creates WHERE patient_id = ?');
      for (const entry of entries) {
        upsert.run(entry.patientId, entry.reason.slice(0, 1000), at.toISOString(), at.toISOString());
        clearPending.run(entry.patientId);
      }
    });
  }

  /**
   * Failed patients whose next try is due: after 2^attempts minutes, at most six hours apart, so
   * a row that can never sync costs a few reads a day, not one every run.
   */
  failuresDue(now = new Date(), limit = 200): string[] {
    const rows = this.sql('SELECT patient_id, attempts, last_at FROM failures ORDER BY last_at LIMIT ?').all(
      limit * 5,
    ) as {
      patient_id: string;
      attempts: number;
      last_at: string;
    }[];
    return rows
      .filter((row) => now.getTime() - Date.parse(row.last_at) >= Math.min(360, 2 ** row.attempts) * 60_000)
      .slice(0, limit)
      .map((row) => row.patient_id);
  }

  /** Which of these patients have an open failure, in one query. */
  failedAmong(patientIds: readonly string[]): Set<string> {
    if (patientIds.length === 0) return new Set();
    const rows = this.sql(
      'SELECT patient_id FROM failures WHERE patient_id IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(patientIds)) as { patient_id: string }[];
    return new Set(rows.map((row) => row.patient_id));
  }

  failures(limit = 20): Failure[] {
    return (
      this.sql(
        'SELECT patient_id, reason, attempts, first_at, last_at FROM failures ORDER BY last_at DESC LIMIT ?',
      ).all(limit) as {
        patient_id: string;
        reason: string;
        attempts: number;
        first_at: string;
        last_at: string;
      }[]
    ).map((row) => ({
      patientId: row.patient_id,
      reason: row.reason,
      attempts: row.attempts,
      firstAt: row.first_at,
      lastAt: row.last_at,
    }));
  }

  failureCount(): number {
    return (this.sql('SELECT COUNT(*) AS n FROM failures').get() as { n: number }).n;
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

  finishRun(id: number, outcome: RunOutcome, counts: RunCounts, error?: string, at = new Date()): void {
    this.sql(
      'UPDATE runs SET ended_at = ?, outcome = ?, read = ?, unchanged = ?, created = ?, updated = ?, linked = ?, failed = ?, requests = ?, error = ? WHERE id = ?',
    ).run(
      at.toISOString(),
      outcome,
      counts.read,
      counts.unchanged,
      counts.created,
      counts.updated,
      counts.linked,
      counts.failed,
      counts.requests,
      error ?? null,
      id,
    );
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

  private sql(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private transaction(work: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
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
    failed: Number(row.failed),
    requests: Number(row.requests),
    error: (row.error as string | null) ?? null,
  };
}
