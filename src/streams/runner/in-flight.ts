/**
 * Batches sent at once: while one waits for amoCRM, the next is prepared and queued behind the
 * rate limiter. The first error any batch throws is kept (`fatal`) and stops further dispatches.
 */
export class InFlight {
  private readonly running = new Set<Promise<void>>();
  private readonly limit: number;
  fatal: Error | undefined;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.running.size;
  }

  /** Starts `work`; waits while `limit` batches are in flight; throws the first error any batch threw. */
  async dispatch(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error: unknown) => {
      this.fatal ??= error as Error;
    });
    const entry = tracked.finally(() => this.running.delete(entry));
    this.running.add(entry);
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.fatal) throw this.fatal;
  }

  /** Waits for every batch in flight. */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
