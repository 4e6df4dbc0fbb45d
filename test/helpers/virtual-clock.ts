import type { Clock } from '../../src/support/clock.ts';

interface Timer {
  at: number;
  order: number;
  resolve: () => void;
}

/** Lets every promise chain and immediate that is ready run before virtual time moves on. */
export async function settle(rounds = 3): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Time that moves only when a test says so: `advance(ms)` runs the sleeps that fall due in order,
 * letting the code they wake run before the next one. The wall clock follows the monotonic one
 * and can be stepped both ways (`stepWall`); `lateness` makes timers fire late, as on a busy
 * machine. Nothing here depends on real elapsed time.
 */
export class VirtualClock implements Clock {
  private wall: number;
  private mono: number;
  private timers: Timer[] = [];
  private order = 0;
  /** Extra ms a timer fires after its due time (a late event loop); 0 by default. */
  lateness: (ms: number) => number = () => 0;

  constructor(wallStart = Date.UTC(2026, 10, 22, 6, 0), monotonicStart = 5_000_000) {
    this.wall = wallStart;
    this.mono = monotonicStart;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  sleep(ms: number): Promise<void> {
    const wait = Math.max(0, ms);
    return new Promise((resolve) => {
      this.timers.push({
        at: this.mono + wait + Math.max(0, this.lateness(wait)),
        order: this.order++,
        resolve,
      });
    });
  }

  /** NTP or a restored VM: the wall clock jumps, monotonic time does not. */
  stepWall(ms: number): void {
    this.wall += ms;
  }

  /** Runs every sleep that falls due within the next `ms`, in order, then stops there. */
  async advance(ms: number): Promise<void> {
    const end = this.mono + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.move(next.at);
      next.resolve();
    }
    this.move(end);
    await settle();
  }

  /** Advances until `done` settles; its value. Rejects when it has not settled within `limitMs` of virtual time. */
  async run<T>(done: Promise<T>, limitMs = 3_600_000): Promise<T> {
    let finished = false;
    const watched = done.finally(() => {
      finished = true;
    });
    const end = this.mono + limitMs;
    while (!finished && this.mono < end) {
      await settle();
      if (finished) break;
      this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.timers[0];
      if (!next || next.at > end) {
        await this.advance(end - this.mono);
        break;
      }
      this.timers.shift();
      this.move(next.at);
      next.resolve();
    }
    await settle();
    if (!finished) throw new Error(`still waiting after ${limitMs} ms of virtual time`);
    return watched;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  private move(to: number): void {
    if (to <= this.mono) return;
    this.wall += to - this.mono;
    this.mono = to;
  }
}
