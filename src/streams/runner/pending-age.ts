import { readFileSync } from 'node:fs';
import type { SentStamp } from '../../state/sent-stamp.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Clock } from '../../support/clock.ts';

export type { SentStamp };

/**
 * How long amoCRM may still apply a create after the client gave up on it, or still leave it out of
 * its listings, beyond the client's own request timeout (AMOCRM_TIMEOUT_SECONDS). amoCRM documents
 * neither: the proxy that showed the hole applied creates 1.2–3 s after they arrived, and its
 * search is known to lag by minutes (reference, "search lag"). Resending too early makes a
 * duplicate a person must merge; resending late only delays one patient whose create truly never
 * arrived. So the margin is long: 15 minutes (the simulation applies creates up to 3 minutes late
 * and lags listings up to 10).
 */
export const PENDING_MARGIN_MS = 15 * 60_000;

/** The config's AMOCRM_TIMEOUT_SECONDS default, for runs not told the client's timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** A sent time this far ahead of the wall clock means the clock stepped back: it is not trusted. */
export const AHEAD_TOLERANCE_MS = 60_000;

/** What the clocks say now, to stamp a create or judge a pending one. */
export interface PendingClock {
  clock: Clock;
  /** This boot's id ('' when the system does not say). */
  boot: string;
}

export const stampOf = ({ clock, boot }: PendingClock): SentStamp => ({
  sentAt: clock.now(),
  monotonic: clock.monotonic(),
  boot,
});

/**
 * Whether a pending create is old enough that amoCRM has had `waitMs` to apply it; when the stamp
 * cannot be trusted, the one to store instead (its wait then counts on this boot's monotonic clock).
 *
 * - Stamped on this boot: the monotonic age decides, whatever the wall clock did meanwhile.
 * - Stamped on another boot: the wall clock may be wrong after a reboot, so the wait starts again.
 * - No boot to compare (an older row, a system without a boot id): the wall clock decides, unless
 *   the row is dated more than a minute ahead of it (the clock stepped back) — then the wait
 *   starts again now.
 */
export function judgePending(
  stamp: SentStamp,
  now: PendingClock,
  waitMs: number,
): { old: boolean; restamp?: SentStamp } {
  const wall = now.clock.now();
  const monotonic = now.clock.monotonic();
  const fresh = { sentAt: wall, monotonic, boot: now.boot };
  if (now.boot !== '' && stamp.boot === now.boot && stamp.monotonic !== undefined) {
    const age = monotonic - stamp.monotonic;
    // Never on one boot; a clock that says so is not believed.
    if (age < 0) return { old: false, restamp: fresh };
    return { old: age >= waitMs };
  }
  if (now.boot !== '' && stamp.boot !== '') return { old: false, restamp: fresh };
  if (stamp.sentAt > wall + AHEAD_TOLERANCE_MS) return { old: false, restamp: fresh };
  const age = Math.max(0, wall - stamp.sentAt);
  if (age >= waitMs) return { old: true };
  // From here on this row ages on the monotonic clock, back-dated by the age the wall clock gave.
  return now.boot === '' ? { old: false } : { old: false, restamp: { ...fresh, monotonic: monotonic - age } };
}

let bootId: string | undefined;

/** This boot's id (Linux: /proc/sys/kernel/random/boot_id, shared by containers); '' elsewhere. */
export function systemBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = '';
    }
  }
  return bootId;
}

/** One log line for pending creates an earlier run left, once settled (contacts and deals alike). */
export function logSettled(
  logger: Logger,
  noun: 'creates' | 'deal creates',
  settled: { confirmed: readonly unknown[]; missing: number; waiting: readonly unknown[] },
): void {
  logger.info(
    { confirmed: settled.confirmed.length, missing: settled.missing, waiting: settled.waiting.length },
    settled.waiting.length > 0
      ? `${noun} left by an earlier run settled; amoCRM may still apply the ones waiting, so they stay pending`
      : `${noun} left by an earlier run settled`,
  );
}
