import type { PatientSource } from '../ident/patient-source.ts';
import type { Mapper } from '../mapping/mapper.ts';
import { maskName } from './mask.ts';

const CACHE = 2000;
const PER_VIEW = 100;
const STATS_MS = 5 * 60_000;

/**
 * Masked names from IDENT (the state keeps none: links hold ids and hashes only), read one patient
 * at a time as the page shows them and kept masked in memory — the full name is never stored.
 */
export function identNames(source: () => PatientSource | undefined, mapper: () => Mapper | undefined) {
  const masked = new Map<string, string | null>();
  return async (patientIds: readonly string[]): Promise<Map<string, string>> => {
    const found = new Map<string, string>();
    const from = source();
    const map = mapper();
    for (const patientId of patientIds.slice(0, PER_VIEW)) {
      if (!masked.has(patientId) && from && map) {
        const row = await from.one(patientId).catch(() => undefined);
        const outcome = row ? map(row) : undefined;
        const name = outcome?.ok
          ? maskName(
              outcome.contact.document.last_name || outcome.contact.document.name,
              outcome.contact.document.first_name,
            )
          : undefined;
        if (row !== undefined) masked.set(patientId, name ?? null);
        if (masked.size > CACHE) masked.delete(masked.keys().next().value!);
      }
      const name = masked.get(patientId);
      if (name) found.set(patientId, name);
    }
    return found;
  };
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
