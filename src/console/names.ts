import type { PatientSource } from '../ident/patient-source.ts';
import type { Mapper } from '../mapping/mapper.ts';
import { maskName } from './mask.ts';

const CACHE = 2000;
const PER_VIEW = 100;
const STATS_MS = 5 * 60_000;
/** How long a page waits for names at most; after that it shows ids and says names are missing. */
const DEADLINE_MS = 2000;
const NAME_MS = 10 * 60_000;
/** A lookup that failed (IDENT down or hanging) is not tried again for this long. */
const FAILURE_MS = 60_000;

export interface PageNames {
  names: Map<string, string>;
  /** Patients of the page whose name IDENT did not give in time (or failed to give). */
  missing: number;
}

interface Known {
  name: string | undefined;
  failed: boolean;
  at: number;
}

/**
 * Masked names from IDENT (the state keeps none: links hold ids and hashes only), kept masked in
 * memory — the full name is never stored. One lookup at a time, whatever the number of pages
 * loading; a page waits for them at most DEADLINE_MS after they started. A lookup that fails (IDENT
 * down: its driver's timeout) marks every name still wanted as failed for FAILURE_MS, so a hanging
 * IDENT costs one timeout a minute, not one per failing patient per page.
 */
export function identNames(
  source: () => PatientSource | undefined,
  mapper: () => Mapper | undefined,
  options: { deadlineMs?: number } = {},
) {
  const deadlineMs = options.deadlineMs ?? DEADLINE_MS;
  const known = new Map<string, Known>();
  let filling: { done: Promise<void>; until: number } | undefined;

  const fresh = (patientId: string, now = Date.now()) => {
    const entry = known.get(patientId);
    return entry !== undefined && now - entry.at < (entry.failed ? FAILURE_MS : NAME_MS);
  };
  const remember = (patientId: string, entry: Known) => {
    known.delete(patientId);
    known.set(patientId, entry);
    if (known.size > CACHE) known.delete(known.keys().next().value!);
  };

  async function fill(patientIds: readonly string[], from: PatientSource, map: Mapper): Promise<void> {
    for (const [index, patientId] of patientIds.entries()) {
      if (fresh(patientId)) continue;
      let row: Awaited<ReturnType<PatientSource['one']>>;
      try {
        row = await from.one(patientId);
      } catch {
        const at = Date.now();
        for (const rest of patientIds.slice(index))
          if (!fresh(rest, at)) remember(rest, { name: undefined, failed: true, at });
        return;
      }
      const outcome = row ? map(row) : undefined;
      const name = outcome?.ok
        ? maskName(
            outcome.contact.document.last_name || outcome.contact.document.name,
            outcome.contact.document.first_name,
          )
        : undefined;
      remember(patientId, { name, failed: false, at: Date.now() });
    }
  }

  return async (patientIds: readonly string[]): Promise<PageNames> => {
    const wanted = patientIds.slice(0, PER_VIEW);
    const from = source();
    const map = mapper();
    if (!filling && from && map && wanted.some((patientId) => !fresh(patientId))) {
      const done = fill(wanted, from, map).finally(() => (filling = undefined));
      filling = { done, until: Date.now() + deadlineMs };
    }
    if (filling) await within(filling.done, filling.until - Date.now());
    const names = new Map<string, string>();
    let missing = 0;
    for (const patientId of wanted) {
      const entry = known.get(patientId);
      if (entry?.name) names.set(patientId, entry.name);
      else if (!entry || entry.failed) missing += 1;
    }
    return { names, missing: from && map ? missing : 0 };
  };
}

/** Waits for `work`, but no longer than `ms`. */
async function within(work: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** IDENT's patient count, asked at most every five minutes. */
export function identPatientCount(source: () => PatientSource | undefined) {
  let cached: { at: number; count: number } | undefined;
  return async (): Promise<number | undefined> => {
    if (cached && Date.now() - cached.at < STATS_MS) return cached.count;
    const from = source();
    if (!from) return cached?.count;
    const stats = await from.stats().catch(() => undefined);
    if (stats) cached = { at: Date.now(), count: stats.patients };
    return cached?.count;
  };
}
