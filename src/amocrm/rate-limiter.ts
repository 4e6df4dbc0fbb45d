import { type Clock, systemClock } from '../support/clock.ts';
import { LocalPace, MAX_PAUSE_MS, type PaceBook } from './shared-pace.ts';

/**
 * amoCRM counts the requests that reach it in a second. A request leaving here reaches it a little
 * later, and not always equally later: the event loop, the scheduler of a busy machine and the
 * network hold some longer than others. So the window we pace on is a second plus this margin:
 * as long as two requests' delays differ by less than it, no second holds more at arrival than
 * left in any window here.
 */
export const ARRIVAL_MARGIN_MS = 40;
/** No window of this length holds more than `rate` departures. */
export const PACE_WINDOW_MS = 1000 + ARRIVAL_MARGIN_MS;
/**
 * Consecutive requests leave at least this share of their even spacing apart. Seven sent at once
 * would queue at amoCRM's door, and the last of them would be counted later than they left —
 * bunched with the next second's. Half the spacing still lets the pace catch up after a late timer;
 * the window, not this gap, is what holds the limit.
 */
const MIN_GAP_SHARE = 0.5;

/** A request let through: `left()` says when it really left. */
export interface Departure {
  left(): void;
}
export const NO_DEPARTURE: Departure = { left: () => undefined };

// The pace halves at most once per SLOW_DOWN_MS (a burst of 429s is one signal, not many) and
// climbs back by half after each RECOVERY_MS without a 429.
const SLOW_DOWN_MS = 5_000;
const RECOVERY_MS = 10_000;

/**
 * The one gate every amoCRM request passes, retries included. A request leaves only when fewer
 * than `rate` requests left in the last PACE_WINDOW_MS — a sliding window of the moments requests
 * actually left, on monotonic time, checked again after every sleep with the time the caller
 * really woke at (a late timer makes its request later, never bunches it with the next). Shared
 * by every process of a state folder when the book is (`SharedPace`). A 429 pauses every caller
 * and halves the pace for a while (amoCRM may count requests we cannot see, such as another
 * integration's); a 403 closes the gate for good.
 */
export class RateLimiter {
  private readonly baseRate: number;
  private rate: number;
  private readonly book: PaceBook;
  private lastSlowDown = Number.NEGATIVE_INFINITY;
  private blockedBy: Error | undefined;
  private readonly clock: Clock;

  constructor(requestsPerSecond: number, clock: Clock = systemClock, book: PaceBook = new LocalPace()) {
    if (!(requestsPerSecond > 0 && requestsPerSecond <= 7)) {
      throw new RangeError('amoCRM allows at most 7 requests per second');
    }
    this.baseRate = requestsPerSecond;
    this.rate = requestsPerSecond;
    this.clock = clock;
    this.book = book;
  }

  get currentRate(): number {
    return this.rate;
  }

  get blocked(): Error | undefined {
    return this.blockedBy;
  }

  /**
   * Waits for this caller's turn; rejects at once, and for ever, after a block. The request is
   * counted from now; `left()` moves it to the moment it really left, once its last byte is handed
   * to the system (a new connection, or a busy event loop, may hold it a while). The gap between
   * requests gives that correction time to land before anybody else decides.
   */
  async acquire(): Promise<Departure> {
    for (;;) {
      if (this.blockedBy) throw this.blockedBy;
      this.recover();
      // A fractional pace (3.5 after a halving) allows its whole part per window.
      const limit = Math.max(1, Math.floor(this.rate));
      const gap = (PACE_WINDOW_MS / limit) * MIN_GAP_SHARE;
      const { wait, id } = this.book.depart(() => this.clock.monotonic(), limit, PACE_WINDOW_MS, gap);
      if (id !== undefined) return { left: () => this.book.restamp(id, this.clock.monotonic()) };
      await this.clock.sleep(wait);
    }
  }

  /** After a 429: nobody starts a request for `ms`, and the pace halves. */
  pauseFor(ms: number): void {
    const now = this.clock.monotonic();
    this.book.pauseUntil(now + Math.min(ms, MAX_PAUSE_MS), now);
    if (now - this.lastSlowDown >= SLOW_DOWN_MS || this.rate === this.baseRate) {
      this.rate = Math.max(1, this.rate / 2);
      this.lastSlowDown = now;
    }
  }

  block(reason: Error): void {
    this.blockedBy ??= reason;
  }

  /** The pace climbs back step by step after quiet periods without 429. */
  private recover(): void {
    if (this.rate >= this.baseRate) return;
    const now = this.clock.monotonic();
    if (now - this.lastSlowDown >= RECOVERY_MS) {
      this.rate = Math.min(this.baseRate, this.rate * 1.5);
      this.lastSlowDown = now;
    }
  }
}
