import type { Logger } from '../logging/logger.ts';
import type { StateStore } from '../state/store.ts';
import { addToQueue, MAX_IDS } from './queue.ts';

export type ConsoleAction =
  | { kind: 'resync-patient'; id: string }
  | { kind: 'resync-reception'; id: string }
  | { kind: 'retry-failed' }
  | { kind: 'deep' };

/** How the console reaches the daemon's engine: its state and its scheduler, nothing else. */
export interface ActionTarget {
  store(): StateStore | undefined;
  /** A run of this kind now, or right after the run in progress: never two at once. */
  requestRun(kind: 'incremental' | 'deep'): 'started' | 'after the run in progress' | 'not running';
  /** Whether the daemon syncs receptions into deals (SYNC_RECEPTIONS). */
  receptions(): boolean;
}

const NO_RECEPTIONS =
  'Visits are not synced (SYNC_RECEPTIONS is off); set SYNC_RECEPTIONS=true and restart the daemon to sync visits.';

/** The action a form asked for, or a sentence saying what is wrong with it. */
export function parseAction(form: URLSearchParams): ConsoleAction | string {
  const kind = form.get('action');
  const id = (form.get('id') ?? '').trim();
  if (kind === 'retry-failed' || kind === 'deep') return { kind };
  if (kind === 'resync-patient' || kind === 'resync-reception') {
    if (!/^\d{1,18}$/.test(id)) return 'An IDENT id is a whole number; type the id shown on the page.';
    return { kind, id: id.replace(/^0+(?=\d)/, '') };
  }
  return 'Unknown action; use the buttons on the page.';
}

/**
 * Hands an action to the engine: the ids and "retry all failed" go to the state's queue, which the
 * next run takes before it starts (the ordinary failures' path writes them); a deep sync is the
 * scheduler's own. Logged with the ids only.
 */
export function perform(action: ConsoleAction, target: ActionTarget, logger: Logger): string {
  const store = target.store();
  if (!store) return 'The daemon has not finished starting; try again once the page shows it syncing.';
  if (action.kind === 'deep') {
    const when = target.requestRun('deep');
    logger.info({ action: action.kind, when }, 'console: deep sync asked for');
    return when === 'not running'
      ? 'The schedule is stopped (see Now); the deep sync runs once the daemon runs again.'
      : when === 'started'
        ? 'Deep sync started.'
        : 'Deep sync asked for: it starts when the run in progress ends.';
  }
  if (action.kind === 'resync-reception' && !target.receptions()) return NO_RECEPTIONS;
  const added =
    action.kind === 'retry-failed'
      ? addToQueue(store, { retryFailed: true })
      : action.kind === 'resync-patient'
        ? addToQueue(store, { patients: [action.id] })
        : addToQueue(store, { receptions: [action.id] });
  if (added === 'full') {
    logger.warn(
      { action: action.kind, ...('id' in action ? { id: action.id } : {}) },
      'console: the queue is full; the action was refused',
    );
    return `Not queued: ${MAX_IDS} ${action.kind === 'resync-patient' ? 'patients' : 'visits'} already wait for the next run; use "Retry all failed" or try again after the next run.`;
  }
  const when = target.requestRun('incremental');
  logger.info(
    { action: action.kind, ...('id' in action ? { id: action.id } : {}), when },
    'console: action queued for the next run',
  );
  const what =
    action.kind === 'retry-failed'
      ? 'Every failed patient and visit is retried'
      : action.kind === 'resync-patient'
        ? `Patient ${action.id} is synced again`
        : `Visit ${action.id} is synced again`;
  return when === 'started'
    ? `${what} in the run that just started.`
    : when === 'after the run in progress'
      ? `${what} in the next run, right after the one in progress.`
      : `${what} in the next run once the schedule runs again.`;
}
