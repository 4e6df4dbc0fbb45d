import type { Sql } from './mirror-table.ts';
import type { SentStamp } from './sent-stamp.ts';

/** A value amoCRM refused, as a pending create and a refusal row keep it. */
export interface RefusedValue {
  field: string;
  detail: string;
}

/** The refusals a pending create carries (JSON); anything unreadable counts as none. */
export const refusedOf = (json: string): RefusedValue[] => {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed)
      ? parsed.filter(
          (entry): entry is RefusedValue =>
            typeof entry?.field === 'string' && typeof entry?.detail === 'string',
        )
      : [];
  } catch {
    return [];
  }
};

/**
 * A new sent time for pending creates (contacts' or deals', named by `tables`) whose stamp could
 * not be trusted, or that are sent again — then with the values refused so far, left out of what is
 * sent. Those are listed at once (`status`), not only once the create is found: it may stay unproven
 * a while. Run inside the caller's transaction.
 */
export function restampPendingRows(
  sql: Sql,
  tables: { pending: string; key: string; refusals: string },
  entries: readonly { key: string; sent: SentStamp; refused?: readonly RefusedValue[] }[],
): void {
  const { pending, key, refusals } = tables;
  const update = sql(
    `UPDATE ${pending} SET created_at = ?, sent_monotonic = ?, sent_boot = ?, refused = COALESCE(?, refused) WHERE ${key} = ?`,
  );
  const hashOf = sql(`SELECT hash FROM ${pending} WHERE ${key} = ?`);
  const addRefusal = sql(
    `INSERT INTO ${refusals} (${key}, field_key, detail, hash, at, tried_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET detail = excluded.detail, hash = excluded.hash, tried_at = excluded.tried_at`,
  );
  for (const entry of entries) {
    const when = new Date(entry.sent.sentAt).toISOString();
    update.run(
      when,
      entry.sent.monotonic ?? null,
      entry.sent.boot,
      entry.refused ? JSON.stringify(entry.refused) : null,
      entry.key,
    );
    const row = hashOf.get(entry.key) as { hash: string } | undefined;
    if (row)
      for (const refusal of entry.refused ?? [])
        addRefusal.run(entry.key, refusal.field, refusal.detail.slice(0, 500), row.hash, when, when);
  }
}
