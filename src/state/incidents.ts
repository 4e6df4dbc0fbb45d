import type { Sql, StateAccess, Transaction } from './stream/sql.ts';

export interface Incident {
  id: number;
  rule: string;
  /** The one sentence the opening message carried. */
  reason: string;
  openedAt: string;
  clearedAt: string | null;
  /** Channels still owed the opening message, and (once cleared) the recovery message. */
  openOwed: string[];
  clearOwed: string[];
  /** Channels that took the opening message: only they are owed its recovery. */
  openedTo: string[];
  /** The newest run when it opened: a rule about time clears only on a run after this one. */
  lastRun: number;
  /** Per channel that failed to take a message: failures so far and the wall time of the next try. */
  retries: Record<string, { failures: number; at: string }>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rule TEXT NOT NULL,
  reason TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  cleared_at TEXT,
  open_owed TEXT NOT NULL DEFAULT '[]',
  clear_owed TEXT NOT NULL DEFAULT '[]',
  opened_to TEXT NOT NULL DEFAULT '[]',
  last_run INTEGER NOT NULL DEFAULT 0,
  retries TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS alert_incidents_open ON alert_incidents (rule) WHERE cleared_at IS NULL;
`;

const KEEP_INCIDENTS = 500;

interface Row {
  id: number;
  rule: string;
  reason: string;
  opened_at: string;
  cleared_at: string | null;
  open_owed: string;
  clear_owed: string;
  opened_to: string;
  last_run: number;
  retries: string;
}

const toIncident = (row: Row): Incident => ({
  id: row.id,
  rule: row.rule,
  reason: row.reason,
  openedAt: row.opened_at,
  clearedAt: row.cleared_at,
  openOwed: JSON.parse(row.open_owed) as string[],
  clearOwed: JSON.parse(row.clear_owed) as string[],
  openedTo: JSON.parse(row.opened_to) as string[],
  lastRun: row.last_run,
  retries: JSON.parse(row.retries) as Incident['retries'],
});

/**
 * Alert incidents in the state: at most one open per rule, with the channels each message is still
 * owed to. A restart reads them back, so an open incident is not announced again and a message
 * a channel did not take is sent at the next evaluation.
 */
export class IncidentTable {
  private readonly sql: Sql;
  private readonly transaction: Transaction;

  constructor(access: StateAccess) {
    this.sql = access.sql;
    this.transaction = access.transaction;
  }

  createSchema(exec: (script: string) => void): void {
    exec(SCHEMA);
    // A state of an earlier release: its incidents count as told to no channel, opened after run 0.
    const columns = new Set(
      (this.sql('PRAGMA table_info(alert_incidents)').all() as { name: string }[]).map((c) => c.name),
    );
    if (!columns.has('opened_to'))
      exec("ALTER TABLE alert_incidents ADD COLUMN opened_to TEXT NOT NULL DEFAULT '[]'");
    if (!columns.has('last_run'))
      exec('ALTER TABLE alert_incidents ADD COLUMN last_run INTEGER NOT NULL DEFAULT 0');
    if (!columns.has('retries'))
      exec("ALTER TABLE alert_incidents ADD COLUMN retries TEXT NOT NULL DEFAULT '{}'");
  }

  open(): Incident[] {
    return (
      this.sql('SELECT * FROM alert_incidents WHERE cleared_at IS NULL ORDER BY id').all() as unknown as Row[]
    ).map(toIncident);
  }

  /** Incidents with a message some channel has not taken yet, oldest first. */
  owed(): Incident[] {
    return (
      this.sql(
        "SELECT * FROM alert_incidents WHERE open_owed <> '[]' OR clear_owed <> '[]' ORDER BY id",
      ).all() as unknown as Row[]
    ).map(toIncident);
  }

  recent(limit = 20): Incident[] {
    return (
      this.sql('SELECT * FROM alert_incidents ORDER BY id DESC LIMIT ?').all(limit) as unknown as Row[]
    ).map(toIncident);
  }

  start(rule: string, reason: string, owed: readonly string[], at: Date, lastRun = 0): void {
    this.transaction(() => {
      const result = this.sql(
        'INSERT INTO alert_incidents (rule, reason, opened_at, open_owed, last_run) VALUES (?, ?, ?, ?, ?)',
      ).run(rule, reason, at.toISOString(), JSON.stringify(owed), lastRun);
      this.sql('DELETE FROM alert_incidents WHERE id <= ? AND cleared_at IS NOT NULL').run(
        Number(result.lastInsertRowid) - KEEP_INCIDENTS,
      );
    });
  }

  clear(id: number, owed: readonly string[], at: Date): void {
    this.sql(
      'UPDATE alert_incidents SET cleared_at = ?, clear_owed = ? WHERE id = ? AND cleared_at IS NULL',
    ).run(at.toISOString(), JSON.stringify(owed), id);
  }

  /** A channel did not take a message of this incident: it is tried again at `at`, not before. */
  failed(id: number, channel: string, failures: number, at: Date): void {
    this.transaction(() => this.setRetry(id, channel, { failures, at: at.toISOString() }));
  }

  /** A channel took the message: no longer owed, and (for an opening) owed the recovery. */
  delivered(id: number, message: 'open' | 'clear', channel: string): void {
    this.transaction(() => {
      this.settleNow(id, message, [channel]);
      this.setRetry(id, channel, undefined);
      if (message === 'clear') return;
      const row = this.sql('SELECT opened_to FROM alert_incidents WHERE id = ?').get(id) as
        { opened_to: string } | undefined;
      if (!row) return;
      const told = JSON.parse(row.opened_to) as string[];
      if (!told.includes(channel))
        this.sql('UPDATE alert_incidents SET opened_to = ? WHERE id = ?').run(
          JSON.stringify([...told, channel]),
          id,
        );
    });
  }

  /** What a channel took (or, when it is no longer configured, will never take) is no longer owed. */
  settle(id: number, message: 'open' | 'clear', channels: readonly string[]): void {
    if (channels.length === 0) return;
    this.transaction(() => this.settleNow(id, message, channels));
  }

  private setRetry(id: number, channel: string, retry: { failures: number; at: string } | undefined): void {
    const row = this.sql('SELECT retries FROM alert_incidents WHERE id = ?').get(id) as
      { retries: string } | undefined;
    if (!row) return;
    const retries = JSON.parse(row.retries) as Incident['retries'];
    if (retry) retries[channel] = retry;
    else if (channel in retries) delete retries[channel];
    else return;
    this.sql('UPDATE alert_incidents SET retries = ? WHERE id = ?').run(JSON.stringify(retries), id);
  }

  private settleNow(id: number, message: 'open' | 'clear', channels: readonly string[]): void {
    const column = message === 'open' ? 'open_owed' : 'clear_owed';
    const row = this.sql(`SELECT ${column} AS owed FROM alert_incidents WHERE id = ?`).get(id) as
      { owed: string } | undefined;
    if (!row) return;
    const left = (JSON.parse(row.owed) as string[]).filter((channel) => !channels.includes(channel));
    this.sql(`UPDATE alert_incidents SET ${column} = ? WHERE id = ?`).run(JSON.stringify(left), id);
  }
}
