import type { Clock } from '../../src/support/clock.ts';

const RealDate = Date;
/** Event-loop turns a request in flight is waited for at least (a loopback round needs a few). */
const MIN_TURNS_ON_THE_WIRE = 500;

/**
 * Virtual time for a simulated history. `monotonic()` is the one true time line: it only moves
 * forward, when somebody sleeps or the simulation lets time pass. amoCRM and IDENT read the true
 * wall time (`trueNow`); the sync's machine reads `now()`, which a clock step can move either way.
 */
export class SimClock implements Clock {
  private t = 0;
  /** The local wall clock's error: a step back (NTP, a snapshot restored) makes it negative. */
  wallOffset = 0;
  readonly epoch: number;

  constructor(epoch: number) {
    this.epoch = epoch;
  }

  now(): number {
    return this.epoch + this.t + this.wallOffset;
  }

  trueNow(): number {
    return this.epoch + this.t;
  }

  monotonic(): number {
    return this.t;
  }

  /**
   * Requests that left the sync but have not reached amoCRM's door yet: time must not jump while
   * one is on the wire, or it would arrive "later" than it left by the length of someone's sleep.
   */
  inFlight = 0;

  /**
   * Time passes at once; concurrent sleepers wake at the later of their targets, not the sum. A
   * request on the wire is waited for; the count can leak (a request that failed on the client's
   * side never reaches the door), so the wait is bounded — by event-loop turns as well as
   * milliseconds: a loopback request needs a handful of turns, and turns, unlike milliseconds, do
   * not pass while a busy machine keeps this process waiting for a core (the simulation must not
   * depend on how busy the machine is).
   */
  async sleep(ms: number): Promise<void> {
    const target = this.t + Math.max(0, ms);
    const started = performance.now();
    let turns = 0;
    do {
      await new Promise((resolve) => setImmediate(resolve));
      turns += 1;
    } while (this.inFlight > 0 && (turns < MIN_TURNS_ON_THE_WIRE || performance.now() - started < 50));
    this.t = Math.max(this.t, target);
  }

  advance(ms: number): void {
    this.t += Math.max(0, ms);
  }
}

let installed: SimClock | undefined;

/**
 * Points `Date.now()` and `new Date()` of this process at the clock's local wall time, so every
 * part of the engine that stamps a row or measures an age lives in the simulation's time. Only the
 * simulation's own process does this (`npm run sim`, and the test that runs it in a child).
 */
export function installWallClock(clock: SimClock): void {
  installed = clock;
  if (globalThis.Date !== RealDate) return;
  const Shim = function (this: unknown, ...args: unknown[]) {
    if (!new.target) return new RealDate(installed!.now()).toString();
    return args.length === 0
      ? new RealDate(installed!.now())
      : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
  } as unknown as DateConstructor;
  Object.setPrototypeOf(Shim, RealDate);
  Object.defineProperty(Shim, 'prototype', { value: RealDate.prototype });
  Shim.now = () => installed!.now();
  globalThis.Date = Shim;
}

export { RealDate };
