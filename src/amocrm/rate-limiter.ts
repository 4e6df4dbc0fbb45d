import { LocalSlots, type SlotBook } from './shared-pace.ts';

/**
 * The one gate every amoCRM request passes, retries included. Requests start at least
 * 1000/rate ms apart, so no one-second window ever holds more than `rate` of them — across every
 * process of a state folder when the slots are shared (`SharedSlots`). A 429 pauses every caller
 * and halves the pace for a while (amoCRM may count requests we cannot see, such as another
 * integration's); a 403 closes the gate for good.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

// The pace halves at most once per SLOW_DOWN_MS (a burst of 429s is one signal, not many) and
// climbs back by half after each RECOVERY_MS without a 429.
const SLOW_DOWN_MS = 5_000;
const RECOVERY_MS = 10_000;

export class RateLimiter {
  private readonly baseRate: number;
  private rate: number;
  private readonly slots: SlotBook;
  private pausedUntil = 0;
  private lastSlowDown = 0;
  private blockedBy: Error | undefined;
  /** Bumped by every pause: slots reserved before it are void. */
  private epoch = 0;
  private readonly clock: Clock;

  constructor(requestsPerSecond: number, clock: Clock = systemClock, slots: SlotBook = new LocalSlots()) {
    if (!(requestsPerSecond > 0 && requestsPerSecond <= 7)) {
      throw new RangeError('amoCRM allows at most 7 requests per second');
    }
    this.baseRate = requestsPerSecond;
    this.rate = requestsPerSecond;
    this.clock = clock;
    this.slots = slots;
  }

  get currentRate(): number {
    return this.rate;
  }

  get blocked(): Error | undefined {
    return this.blockedBy;
  }

  /** Waits for this caller's turn; rejects at once, and for ever, after a block. */
  async acquire(): Promise<void> {
    for (;;) {
      if (this.blockedBy) throw this.blockedBy;
      this.recover();
      const now = this.clock.now();
      // +1 ms: a timer may fire a fraction of a millisecond early.
      const start = this.slots.take(Math.max(now, this.pausedUntil), 1000 / this.rate + 1);
      if (start <= now) return;
      const epoch = this.epoch;
      await this.clock.sleep(start - now);
      if (this.blockedBy) throw this.blockedBy;
      // A 429 seen while we slept voided our slot: take a new one at the new pace.
      if (epoch === this.epoch) return;
    }
  }

  /** After a 429: nobody starts a request for `ms`, and the pace halves. */
  pauseFor(ms: number): void {
    const now = this.clock.now();
    this.pausedUntil = Math.max(this.pausedUntil, now + ms);
    this.slots.pauseUntil(this.pausedUntil);
    this.epoch += 1;
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
    const now = this.clock.now();
    if (now - this.lastSlowDown >= RECOVERY_MS) {
      this.rate = Math.min(this.baseRate, this.rate * 1.5);
      this.lastSlowDown = now;
    }
  }
}
