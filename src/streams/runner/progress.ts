import type { Logger } from '../../logging/logger.ts';

/**
 * The progress line of a long run, at most every `everyMs`: how many rows were read, how fast, an
 * estimate when the total is known, the run's counts so far — and amoCRM requests counted live
 * (the run's own count is filled in only when it ends).
 */
export class ProgressLine {
  private readonly startedAt = Date.now();
  private last = Date.now();
  private readonly requestsAtStart: number;
  private readonly logger: Logger;
  private readonly message: string;
  private readonly everyMs: number;
  private readonly requestCount: () => number;

  constructor(logger: Logger, message: string, everyMs: number, requestCount: () => number) {
    this.logger = logger;
    this.message = message;
    this.everyMs = everyMs;
    this.requestCount = requestCount;
    this.requestsAtStart = requestCount();
  }

  /** Requests this run has sent so far. */
  requests(): number {
    return this.requestCount() - this.requestsAtStart;
  }

  report(counts: { read: number }, total?: number): void {
    const now = Date.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    const rate = counts.read / Math.max((now - this.startedAt) / 1000, 0.001);
    const eta =
      total !== undefined && rate > 0 ? Math.max(0, Math.round((total - counts.read) / rate)) : undefined;
    this.logger.info(
      {
        done: counts.read,
        total,
        perSecond: Math.round(rate),
        etaSeconds: eta,
        ...counts,
        requests: this.requests(),
      },
      this.message,
    );
  }
}
