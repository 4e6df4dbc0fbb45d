/**
 * Time, injectable. The engine, the scheduler and the pace read it from here so a simulation can
 * run them in virtual time and step the wall clock both ways.
 *
 * - `now()` is the wall clock (ms since the epoch): stamps a person reads, ages stored on disk,
 *   amoCRM's and IDENT's timestamps. It may step forward or back (NTP, a VM restored).
 * - `monotonic()` never steps (ms, arbitrary origin; on Linux CLOCK_MONOTONIC, shared by every
 *   process of one boot): request pacing and timeouts within one machine.
 */
export interface Clock {
  now(): number;
  monotonic(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // process.hrtime is CLOCK_MONOTONIC on Linux: the same origin for every process of one boot.
  monotonic: () => Number(process.hrtime.bigint() / 1_000_000n),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
