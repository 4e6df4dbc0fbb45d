import { type Clock, systemClock } from '../../src/support/clock.ts';

/**
 * The system's clocks, moved by the test: `advance` is time passing (wall and monotonic alike),
 * `stepWall` a wall-clock step (NTP, a restored VM) that the monotonic clock does not see.
 */
export class TestClock implements Clock {
  private elapsed = 0;
  private step = 0;
  /** A frozen start (ms since the epoch): only `advance` moves the clock then, never real time. */
  private readonly base: number | undefined;

  constructor(options: { elapsedMs?: number; wallStepMs?: number; base?: number } = {}) {
    this.elapsed = options.elapsedMs ?? 0;
    this.step = options.wallStepMs ?? 0;
    this.base = options.base;
  }

  now(): number {
    return (this.base ?? systemClock.now()) + this.elapsed + this.step;
  }

  monotonic(): number {
    return (this.base === undefined ? systemClock.monotonic() : 0) + this.elapsed;
  }

  sleep(ms: number): Promise<void> {
    return systemClock.sleep(ms);
  }

  advance(ms: number): void {
    this.elapsed += ms;
  }

  stepWall(ms: number): void {
    this.step += ms;
  }
}

/** Longer than any pending create's wait in the tests (their client's timeout plus the margin). */
export const PAST_PENDING_WAIT_MS = 30 * 60_000;
