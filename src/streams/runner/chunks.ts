/**
 * Rows handed over in chunks, so the state lookups for a chunk are one query each; nothing more is
 * read once `stopping` says so.
 */
export async function inChunks<Row>(
  rows: AsyncIterable<Row>,
  size: number,
  stopping: () => boolean,
  handle: (chunk: readonly Row[]) => Promise<void>,
): Promise<void> {
  let chunk: Row[] = [];
  for await (const row of rows) {
    if (stopping()) return;
    chunk.push(row);
    if (chunk.length >= size) {
      await handle(chunk);
      chunk = [];
    }
  }
  await handle(chunk);
}
