/** The part of an mssql Request that streaming uses; tests put a fake in its place. */
export interface StreamingRequest {
  stream: boolean;
  input(name: string, type: unknown, value: unknown): unknown;
  query(sql: string): unknown;
  on(event: 'row', listener: (row: Record<string, unknown>) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'done', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  cancel(): unknown;
}

/**
 * Rows of one query as they arrive, with backpressure: when `highWaterMark` rows wait unread the
 * driver is paused (it stops reading the socket) and resumed once the reader has caught up, so
 * memory stays flat however many rows the query returns. Leaving the loop early cancels the query.
 */
export async function* streamRows(
  request: StreamingRequest,
  sql: string,
  highWaterMark = 500,
): AsyncGenerator<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  let head = 0;
  let finished = false;
  let failure: { error: unknown } | undefined;
  let paused = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  request.stream = true;
  request.on('row', (row) => {
    queue.push(row);
    if (!paused && queue.length - head >= highWaterMark) {
      paused = true;
      request.pause();
    }
    poke();
  });
  request.on('error', (error) => {
    failure ??= { error };
    poke();
  });
  request.on('done', () => {
    finished = true;
    poke();
  });
  request.query(sql);

  try {
    for (;;) {
      if (head < queue.length) {
        const row = queue[head]!;
        queue[head] = undefined as never;
        head += 1;
        if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        if (paused && queue.length - head <= highWaterMark / 2) {
          paused = false;
          request.resume();
        }
        yield row;
        continue;
      }
      if (failure) throw failure.error;
      if (finished) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    if (!finished && !failure) request.cancel();
  }
}
