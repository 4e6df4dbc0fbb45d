import { DatabaseSync } from 'node:sqlite';
import { preparedOnce, type Sql } from '../../state/stream/sql.ts';

const SCHEMA = `
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -2000;
CREATE TABLE seen (patient_id TEXT PRIMARY KEY) WITHOUT ROWID;
`;

/**
 * A run's working set — the patients it has read, amoCRM's indexed contacts — in a private SQLite
 * database on disk that SQLite deletes when it is closed (or the process dies). Sets that grow with
 * the clinic live here instead of on the JavaScript heap, so memory stays flat at 100 000 patients
 * and beyond, and garbage collection stays cheap. Nothing here needs to survive the run.
 */
export class RunScratch {
  private readonly db: DatabaseSync;
  readonly sql: Sql;
  private open = true;

  constructor() {
    // SQLite creates the file in SQLITE_TMPDIR (the CLI points it at STATE_DIR) and unlinks it at
    // once: nothing is left behind, even after kill -9.
    this.db = new DatabaseSync('');
    this.db.exec(SCHEMA);
    // One long transaction: nothing here is ever rolled back or needs to reach the disk in order,
    // and a commit per row would cost more than the row's work.
    this.db.exec('BEGIN');
    this.sql = preparedOnce(this.db);
  }

  /** Records a patient as read in this run; false when it already was (the same row twice). */
  markSeen(patientId: string): boolean {
    return this.sql('INSERT OR IGNORE INTO seen (patient_id) VALUES (?)').run(patientId).changes === 1;
  }

  wasSeen(patientId: string): boolean {
    return this.sql('SELECT 1 AS found FROM seen WHERE patient_id = ?').get(patientId) !== undefined;
  }

  exec(script: string): void {
    this.db.exec(script);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.db.close();
  }
}
