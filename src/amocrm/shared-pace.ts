import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { ensurePrivateDatabase } from '../support/state-dir.ts';

/**
 * Where requests' departures are recorded. In one process an array does; processes that share a
 * state folder (the daemon, and `fields`, `test` or `auth` run next to it) share one record
 * through a small SQLite file, so together they stay within the account's 7 requests per second,
 * and a 429 seen by one pauses them all.
 *
 * Every time here is monotonic (ms, `Clock.monotonic`): a wall clock stepping back cannot hold a
 * request. Monotonic time starts again at a reboot, so a departure or pause stamped far ahead of
 * now is from another boot and is forgotten.
 */
export interface PaceBook {
  /**
   * Under one lock: reads the time with `now`; when no pause is on, fewer than `limit`
   * departures fall in the last `windowMs` and the last left at least `gapMs` ago, records a
   * departure at that time and returns `wait: 0` with its id; otherwise how many ms to wait before
   * asking again (a floor, not a slot: the caller asks again with the time it actually wakes at).
   */
  depart(now: () => number, limit: number, windowMs: number, gapMs?: number): Departed;
  /** The request of departure `id` really left at `at`, later than it was stamped: it counts from then. */
  restamp(id: number, at: number): void;
  /** Nobody departs before `until`. */
  pauseUntil(until: number, now: number): void;
}

export interface Departed {
  wait: number;
  /** Set when the caller may go (`wait` 0). */
  id?: number;
}

/** A departure this far ahead of now cannot be ours: it was stamped before a reboot. */
export const FUTURE_TOLERANCE_MS = 5_000;
/** The longest pause anybody asks for (Retry-After is capped at 5 minutes). */
export const MAX_PAUSE_MS = 300_000;

/** A pause ending further ahead than anybody asks for was stamped before a reboot. */
const validPause = (until: number, now: number) =>
  until > now + MAX_PAUSE_MS + FUTURE_TOLERANCE_MS ? 0 : until;

/** The one rule both books apply: `departures` are those in the window, oldest first. How long to wait. */
function waitFor(
  departures: readonly number[],
  pausedUntil: number,
  now: number,
  limit: number,
  windowMs: number,
  gapMs: number,
): number {
  if (pausedUntil > now) return pausedUntil - now;
  const last = departures.at(-1);
  if (last !== undefined && now < last + gapMs) return Math.max(1, last + gapMs - now);
  if (departures.length < limit) return 0;
  // The departure that must leave the window before one more fits in it.
  return Math.max(1, departures[departures.length - limit]! + windowMs - now);
}

/** Departures that still count at `now`: inside the window, and none stamped in another boot. */
const counts = (at: number, now: number, windowMs: number) =>
  at > now - windowMs && at <= now + FUTURE_TOLERANCE_MS;

export class LocalPace implements PaceBook {
  private readonly departures = new Map<number, number>();
  private lastId = 0;
  private pausedUntil = 0;

  depart(now: () => number, limit: number, windowMs: number, gapMs = 0): Departed {
    const at = now();
    for (const [id, stamp] of this.departures) if (!counts(stamp, at, windowMs)) this.departures.delete(id);
    this.pausedUntil = validPause(this.pausedUntil, at);
    const inWindow = [...this.departures.values()].sort((x, y) => x - y);
    const wait = waitFor(inWindow, this.pausedUntil, at, limit, windowMs, gapMs);
    if (wait > 0) return { wait };
    this.lastId += 1;
    this.departures.set(this.lastId, at);
    return { wait: 0, id: this.lastId };
  }

  restamp(id: number, at: number): void {
    const stamp = this.departures.get(id);
    if (stamp !== undefined && at > stamp) this.departures.set(id, at);
  }

  pauseUntil(until: number, now: number): void {
    this.pausedUntil = Math.max(validPause(this.pausedUntil, now), until);
  }
}

export const PACE_FILE = 'amocrm-pace.sqlite';

export class SharedPace implements PaceBook {
  private readonly db: DatabaseSync;
  private readonly statements: Record<
    'departures' | 'forget' | 'add' | 'restamp' | 'readPause' | 'writePause',
    StatementSync
  >;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    ensurePrivateDatabase(join(stateDir, PACE_FILE), 'the request pace file');
    this.db = new DatabaseSync(join(stateDir, PACE_FILE));
    // Nothing here must survive a crash: a lost departure only means one request leaves a little
    // early — and amoCRM's window is a second, far shorter than any restart. (The `pace` table of
    // earlier versions held wall-clock slots; it is no longer read.)
    this.db.exec(`
      PRAGMA busy_timeout = 2000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = OFF;
      CREATE TABLE IF NOT EXISTS departures (at REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS pause (id INTEGER PRIMARY KEY CHECK (id = 1), until REAL NOT NULL);
      INSERT OR IGNORE INTO pause (id, until) VALUES (1, 0);
    `);
    this.statements = {
      departures: this.db.prepare('SELECT at FROM departures ORDER BY at'),
      forget: this.db.prepare('DELETE FROM departures WHERE at <= ? OR at > ?'),
      add: this.db.prepare('INSERT INTO departures (at) VALUES (?)'),
      restamp: this.db.prepare('UPDATE departures SET at = max(at, ?) WHERE rowid = ?'),
      readPause: this.db.prepare('SELECT until FROM pause WHERE id = 1'),
      writePause: this.db.prepare('UPDATE pause SET until = ? WHERE id = 1'),
    };
  }

  depart(now: () => number, limit: number, windowMs: number, gapMs = 0): Departed {
    return this.locked(() => {
      // Read under the lock: a wait for it must not make the departure look older than it is.
      const at = now();
      const s = this.statements;
      s.forget.run(at - windowMs, at + FUTURE_TOLERANCE_MS);
      const inWindow = (s.departures.all() as { at: number }[]).map((row) => row.at);
      const pausedUntil = validPause(this.pause(), at);
      const wait = waitFor(inWindow, pausedUntil, at, limit, windowMs, gapMs);
      if (wait > 0) return { wait };
      return { wait: 0, id: Number(s.add.run(at).lastInsertRowid) };
    });
  }

  restamp(id: number, at: number): void {
    // One statement: atomic without a transaction of its own.
    this.statements.restamp.run(at, id);
  }

  pauseUntil(until: number, now: number): void {
    this.locked(() => {
      this.statements.writePause.run(Math.max(validPause(this.pause(), now), until));
    });
  }

  close(): void {
    this.db.close();
  }

  private pause(): number {
    return (this.statements.readPause.get() as { until: number }).until;
  }

  private locked<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      // SQLite may have rolled back already (a full disk does): a second ROLLBACK would throw and
      // hide the error that matters.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
