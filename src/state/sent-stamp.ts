/**
 * When a create was sent, as a pending row keeps it: the wall clock (a person reads it, and it
 * is all a row from another boot can be compared with) and the monotonic clock with the boot it
 * belongs to (CLOCK_MONOTONIC is shared by every process of one boot and never steps).
 */
export interface SentStamp {
  /** Wall clock, ms since the epoch. */
  sentAt: number;
  /** `Clock.monotonic()` when sent; undefined in rows written before this was kept. */
  monotonic: number | undefined;
  /** The boot `monotonic` belongs to; '' when unknown. */
  boot: string;
}

/** A pending row's sent time as stored (created_at is the wall clock's; older rows have no monotonic stamp). */
export const sentStampOf = (row: {
  created_at: string;
  sent_monotonic?: number | null;
  sent_boot?: string;
}): SentStamp => ({
  sentAt: Date.parse(row.created_at),
  monotonic: row.sent_monotonic ?? undefined,
  boot: row.sent_boot ?? '',
});
