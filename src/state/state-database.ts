import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { ensurePrivateDatabase } from '../support/state-dir.ts';
import { preparedOnce, type Sql } from './stream/sql.ts';

/**
 * Where a read-only command opens the database. SQLite creates -wal and -shm beside a WAL database
 * even for a read-only connection; with no -wal file there (no daemon has it open: the last
 * connection to close checkpoints and removes it) the file is read as immutable, which creates
 * nothing. A daemon starting during that read may make it fail; the command is run again.
 */
function readOnlyLocation(path: string): string | URL {
  if (existsSync(`${path}-wal`)) return path;
  const url = pathToFileURL(path);
  url.searchParams.set('immutable', '1');
  return url;
}

/**
 * The state's SQLite file, opened private (0600), WAL with synchronous=FULL: a committed
 * transaction survives `kill -9` and power loss. Statements are prepared once.
 */
export class StateDatabase {
  readonly db: DatabaseSync;
  readonly sql: Sql;

  constructor(path: string, readOnly: boolean) {
    ensurePrivateDatabase(path, 'the state database', { create: !readOnly, readOnly });
    this.db = new DatabaseSync(readOnly ? readOnlyLocation(path) : path, { readOnly });
    this.db.exec('PRAGMA busy_timeout = 5000;');
    if (!readOnly) this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    this.sql = preparedOnce(this.db);
  }

  /**
   * One transaction. `cache` (the mirrors) commits without waiting for the disk: a crash may lose
   * the last pages read, which the next refresh reads again; WAL keeps the file whole either way,
   * and the next durable commit syncs them too.
   */
  transaction(work: () => void, kind: 'durable' | 'cache' = 'durable'): void {
    if (kind === 'cache') this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.db.exec('COMMIT');
    } catch (error) {
      // SQLite may have rolled back already (a full disk does): a second ROLLBACK would throw and
      // hide the error that matters.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    } finally {
      if (kind === 'cache') this.db.exec('PRAGMA synchronous = FULL');
    }
  }
}
