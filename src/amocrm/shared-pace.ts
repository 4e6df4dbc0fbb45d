import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

/**
 * Where request slots are handed out. In one process a plain counter does; processes that share a
 * state folder (the daemon, and `fields`, `test` or `auth` run next to it) share one sequence of
 * slots through a small SQLite file, so together they stay within the account's 7 requests per
 * second, and a 429 seen by one pauses them all.
 */
export interface SlotBook {
  /** Reserves the first slot at or after `earliest` (ms) and keeps the next `spacing` ms free; returns its start. */
  take(earliest: number, spacing: number): number;
  /** Nobody starts a request before `until` (ms). */
  pauseUntil(until: number): void;
}

export class LocalSlots implements SlotBook {
  private next = 0;

  take(earliest: number, spacing: number): number {
    const start = Math.max(earliest, this.next);
    this.next = start + spacing;
    return start;
  }

  pauseUntil(until: number): void {
    this.next = Math.max(this.next, until);
  }
}

export const PACE_FILE = 'amocrm-pace.sqlite';

export class SharedSlots implements SlotBook {
  private readonly db: DatabaseSync;
  private readonly read: StatementSync;
  private readonly write: StatementSync;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.db = new DatabaseSync(join(stateDir, PACE_FILE));
    // Nothing here must survive a crash: a lost slot only means one request waits a little less.
    this.db.exec(`
      PRAGMA busy_timeout = 2000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = OFF;
      CREATE TABLE IF NOT EXISTS pace (id INTEGER PRIMARY KEY CHECK (id = 1), next_slot REAL NOT NULL);
      INSERT OR IGNORE INTO pace (id, next_slot) VALUES (1, 0);
    `);
    this.read = this.db.prepare('SELECT next_slot FROM pace WHERE id = 1');
    this.write = this.db.prepare('UPDATE pace SET next_slot = ? WHERE id = 1');
  }

  take(earliest: number, spacing: number): number {
    return this.update((next) => {
      const start = Math.max(earliest, next);
      return [start + spacing, start];
    });
  }

  pauseUntil(until: number): void {
    this.update((next) => [Math.max(next, until), undefined]);
  }

  close(): void {
    this.db.close();
  }

  private update<T>(change: (next: number) => [number, T]): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const [next, result] = change((this.read.get() as { next_slot: number }).next_slot);
      this.write.run(next);
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
