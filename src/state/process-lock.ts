import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActionableError } from '../errors.ts';
import { ensurePrivateDatabase } from '../support/state-dir.ts';

/**
 * A lock held by an open SQLite transaction on a small file in STATE_DIR. The operating system
 * releases it when the process ends in any way, `kill -9` included, so a lock is never stale.
 */
export class ProcessLock {
  private db: DatabaseSync | undefined;
  readonly path: string;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
  }

  /** Takes the lock now or returns undefined. */
  static tryTake(stateDir: string, name: string): ProcessLock | undefined {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, `${name}.lock`);
    ensurePrivateDatabase(path, 'the lock file');
    const db = new DatabaseSync(path);
    try {
      db.exec('PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
      // Writing makes SQLite take the exclusive file lock now rather than at commit.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;');
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      return new ProcessLock(path, db);
    } catch (error) {
      db.close();
      if ((error as { errcode?: number }).errcode === 5) return undefined;
      throw error;
    }
  }

  /** Takes the lock or refuses with the sentence a person needs. */
  static take(stateDir: string, name: string, whatHoldsIt: string): ProcessLock {
    const lock = ProcessLock.tryTake(stateDir, name);
    if (!lock) {
      throw new ActionableError(
        `${whatHoldsIt} already uses ${stateDir}; stop it first (e.g. \`docker compose stop sync\`) or give this process another STATE_DIR`,
      );
    }
    return lock;
  }

  /** Waits up to `waitMs` for the lock (polling, so the event loop keeps running). */
  static async waitFor(stateDir: string, name: string, waitMs: number): Promise<ProcessLock | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lock = ProcessLock.tryTake(stateDir, name);
      if (lock || Date.now() >= deadline) return lock;
      await sleep(200);
    }
  }

  release(): void {
    if (!this.db) return;
    try {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
    } finally {
      this.db.close();
      this.db = undefined;
    }
  }
}
