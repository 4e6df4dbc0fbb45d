import type { StatementSync } from 'node:sqlite';

type Sql = (query: string) => StatementSync;
type Transaction = (work: () => void) => void;

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
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rule TEXT NOT NULL,
  reason TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  cleared_at TEXT,
  open_owed TEXT NOT NULL DEFAULT '[]',
  clear_owed TEXT NOT NULL DEFAULT '[]'
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
}

const toIncident = (row: Row): Incident => ({
  id: row.id,
  rule: row.rule,
  reason: row.reason,
  openedAt: row.opened_at,
  clearedAt: row.cleared_at,
  openOwed: JSON.parse(row.open_owed) as string[],
  clearOwed: JSON.parse(row.clear_owed) as string[],
});

/**
 * Alert incidents in the state: at most one open per rule, with the channels each message is still
 * owed to. A restart reads them back, so an open incident is not announced again and a message
 * a channel did not take is sent at the next evaluation.
 */
export class IncidentTable {
  private readonly sql: Sql;
  private readonly transaction: Transaction;

  constructor(sql: Sql, transaction: Transaction) {
    this.sql = sql;
    this.transaction = transaction;
  }

  createSchema(exec: (script: string) => void): void {
    exec(SCHEMA);
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

  start(rule: string, reason: string, owed: readonly string[], at: Date): void {
    this.transaction(() => {
      const result = this.sql(
        'INSERT INTO alert_incidents (rule, reason, opened_at, open_owed) VALUES (?, ?, ?, ?)',
      ).run(rule, reason, at.toISOString(), JSON.stringify(owed));
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

  /** What a channel took (or, when it is no longer configured, will never take) is no longer owed. */
  settle(id: number, message: 'open' | 'clear', channels: readonly string[]): void {
    if (channels.length === 0) return;
    const column = message === 'open' ? 'open_owed' : 'clear_owed';
    this.transaction(() => {
      const row = this.sql(`SELECT ${column} AS owed FROM alert_incidents WHERE id = ?`).get(id) as
        { owed: string } | undefined;
      if (!row) return;
      const left = (JSON.parse(row.owed) as string[]).filter((channel) => !channels.includes(channel));
      this.sql(`UPDATE alert_incidents SET ${column} = ? WHERE id = ?`).run(JSON.stringify(left), id);
    });
  }
}
