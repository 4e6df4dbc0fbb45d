import type { StateStore } from '../state/store.ts';

/** What the console asked of the next run, kept in the state until a run takes it. */
export interface ConsoleQueue {
  patients: string[];
  receptions: string[];
  retryFailed: boolean;
}

const KEY = 'console_queue';
const empty = (): ConsoleQueue => ({ patients: [], receptions: [], retryFailed: false });
/** Ids the queue holds at most, per kind (a run syncs them one by one); beyond, an id is refused. */
export const MAX_IDS = 1000;

export function readQueue(store: StateStore): ConsoleQueue {
  const text = store.getMeta(KEY);
  if (!text) return empty();
  try {
    return { ...empty(), ...(JSON.parse(text) as Partial<ConsoleQueue>) };
  } catch {
    return empty();
  }
}

/** Adds to the queue, all or nothing: 'full' (and nothing written) when an id would not fit. */
export function addToQueue(store: StateStore, add: Partial<ConsoleQueue>): ConsoleQueue | 'full' {
  const queue = readQueue(store);
  const merged: ConsoleQueue = {
    patients: [...new Set([...queue.patients, ...(add.patients ?? [])])],
    receptions: [...new Set([...queue.receptions, ...(add.receptions ?? [])])],
    retryFailed: queue.retryFailed || (add.retryFailed ?? false),
  };
  if (merged.patients.length > MAX_IDS || merged.receptions.length > MAX_IDS) return 'full';
  store.setMeta(KEY, JSON.stringify(merged));
  return merged;
}

export const queuedCount = (queue: ConsoleQueue) =>
  queue.patients.length + queue.receptions.length + (queue.retryFailed ? 1 : 0);

/**
 * Hands what the console asked for to the run about to start (never to one in progress, whose
 * reads and writes it would race): the ids become due failures whose links count nothing as sent,
 * and every open failure becomes due. Applied before it is cleared: a crash between applies it again,
 * which changes nothing.
 */
export function takeQueue(store: StateStore, at = new Date()): ConsoleQueue {
  const queue = readQueue(store);
  if (queuedCount(queue) === 0) return queue;
  if (queue.retryFailed) store.retryFailuresNow(at);
  store.queueResync(
    { patients: queue.patients, receptions: queue.receptions },
    'synced again at the console’s request: the next run writes every value again',
    at,
  );
  store.setMeta(KEY, undefined);
  return queue;
}
