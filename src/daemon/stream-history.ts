import type { SyncConfig } from '../config/config.ts';
import type { StateStore } from '../state/store.ts';
import { type DeepHistory, lastDeepSlot, type ScheduledKind } from './schedule.ts';

/** The kind of run each stream gets: contacts first, then (SYNC_RECEPTIONS) deals. */
export interface StreamKinds {
  contacts: ScheduledKind;
  deals: ScheduledKind;
}

const contactsFullRead = (store: StateStore): Date | undefined => {
  const value = store.getMeta('full_read_at');
  return value ? new Date(value) : undefined;
};

const oldest = (dates: readonly (Date | undefined)[]): Date | undefined =>
  dates.some((date) => date === undefined)
    ? undefined
    : new Date(Math.min(...dates.map((date) => date!.getTime())));

const latest = (dates: readonly (Date | undefined)[]): Date | undefined => {
  const known = dates.filter((date): date is Date => date !== undefined);
  return known.length === 0 ? undefined : new Date(Math.max(...known.map((date) => date.getTime())));
};

/**
 * The deep-sync history the schedule reads, per stream: a deep sync is owed while either stream's
 * last complete read (contacts' or, with receptions, deals') is older than the latest slot — a deal
 * phase that failed after the contacts' went well is caught up like a failed contact phase.
 */
export function streamDeepHistory(store: StateStore, receptions: boolean): DeepHistory {
  return {
    lastSuccess: () => oldest([contactsFullRead(store), ...(receptions ? [store.deals.fullReadAt()] : [])]),
    lastAttempt: () =>
      latest([store.lastAttempt('deep'), ...(receptions ? [store.deals.deepAttemptAt()] : [])]),
    fresh: () => store.checkpoint() === undefined,
  };
}

/**
 * A deep run catches up only the streams that owe one: a stream whose complete read is at or after
 * the latest slot runs incrementally (a failed deal phase is read again, not every patient).
 */
export function streamKinds(
  kind: ScheduledKind,
  store: StateStore,
  sync: Pick<SyncConfig, 'deepSyncHours' | 'timeZone' | 'receptions'>,
  now: Date,
): StreamKinds {
  if (kind === 'incremental' || !sync.receptions) return { contacts: kind, deals: kind };
  const slot = lastDeepSlot(now, sync.deepSyncHours, sync.timeZone);
  const owes = (fullRead: Date | undefined): ScheduledKind =>
    fullRead !== undefined && fullRead >= slot ? 'incremental' : 'deep';
  const kinds = { contacts: owes(contactsFullRead(store)), deals: owes(store.deals.fullReadAt()) };
  // A deep tick owed by neither (a slot that fired on time) still reads everything: that is the slot's run.
  return kinds.contacts === 'incremental' && kinds.deals === 'incremental'
    ? { contacts: 'deep', deals: 'deep' }
    : kinds;
}
