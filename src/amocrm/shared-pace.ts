import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

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
   * departure at that time and returns 0;
   * otherwise returns how many ms to wait before asking again (the answer is a floor, not a slot:
   * the caller asks again with the time it actually wakes at).
   */
  depart(now: () => number, limit: number, windowMs: number, gapMs?: number): number;
  /** Nobody departs before `until`. */
  pauseUntil(until: number, now: number): void;
}

/** A departure this far ahead of now cannot be ours: it was stamped before a reboot. */
export const FUTURE_TOLERANCE_MS = 5_000;
/** The longest pause anybody asks for (Retry-After is capped at 5 minutes). */
export const MAX_PAUSE_MS = 300_000;

/** A pause ending further ahead than anybody asks for was stamped before a reboot. */
const validPause = (until: number, now: number) =>
  until > now + MAX_PAUSE_MS + FUTURE_TOLERANCE_MS ? 0 : until;

/** The one rule both books apply to what they hold: departures sorted, oldest first. */
function decide(
  departures: readonly number[],
  pausedUntil: number,
  now: number,
  limit: number,
  windowMs: number,
  gapMs: number,
): { wait: number; departures: number[]; pausedUntil: number } {
  const kept = departures.filter((at) => at > now - windowMs && at <= now + FUTURE_TOLERANCE_MS);
  const pause = validPause(pausedUntil, now);
  if (pause > now) return { wait: pause - now, departures: kept, pausedUntil: pause };
  const last = kept.at(-1);
  if (last !== undefined && now < last + gapMs) {
    return { wait: Math.max(1, last + gapMs - now), departures: kept, pausedUntil: pause };
  }
  if (kept.length < limit) return { wait: 0, departures: [...kept, now], pausedUntil: pause };
  // The departure that must leave the window before one more fits in it.
  const leaving = kept[kept.length - limit]!;
  return { wait: Math.max(1, leaving + windowMs - now), departures: kept, pausedUntil: pause };
}

export class LocalPace implements PaceBook {
  private departures: number[] = [];
  private pausedUntil = 0;

  depart(now: () => number, limit: number, windowMs: number, gapMs = 0): number {
    const outcome = decide(this.departures, this.pausedUntil, now(), limit, windowMs, gapMs);
    this.departures = outcome.departures;
    this.pausedUntil = outcome.pausedUntil;
    return outcome.wait;
  }

  pauseUntil(until: number, now: number): void {
    this.pausedUntil = Math.max(validPause(this.pausedUntil, now), until);
  }
}

export const PACE_FILE = 'amocrm-pace.sqlite';

export class SharedPace implements PaceBook {
  private readonly db: DatabaseSync;
  private readonly statements: Record<
    'departures' | 'forget' | 'add' | 'readPause' | 'writePause',
    StatementSync
  >;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
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
      readPause: this.db.prepare('SELECT until FROM pause WHERE id = 1'),
      writePause: this.db.prepare('UPDATE pause SET until = ? WHERE id = 1'),
    };
  }

  depart(now: () => number, limit: number, windowMs: number, gapMs = 0): number {
    return this.locked(() => {
      // Read under the lock: a wait for it must not make the departure look older than it is.
      const at = now();
      const s = this.statements;
      const stored = (s.departures.all() as { at: number }[]).map((row) => row.at);
      const outcome = decide(stored, this.pause(), at, limit, windowMs, gapMs);
      s.forget.run(at - windowMs, at + FUTURE_TOLERANCE_MS);
      if (outcome.wait === 0) s.add.run(at);
      s.writePause.run(outcome.pausedUntil);
      return outcome.wait;
    });
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
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
