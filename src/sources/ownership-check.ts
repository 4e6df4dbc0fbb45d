import { serverName } from '../config/config.ts';
import type { PatientSource } from '../ident/patient-source.ts';
import type { Mapper } from '../mapping/mapper.ts';
import { scopeId, type SourceScope, splitScopedId } from './source-key.ts';

const SAMPLE = 12;

/**
 * Whether each source's database is the one its patients in the state came from. A key moved to
 * another database (SOURCE_BARE_IDS naming the wrong clinic at an upgrade, two SOURCE_<KEY>_DB_NAME
 * swapped, a DB_NAME pointing at a training copy) would write one clinic's people onto the other's
 * contacts; nothing in the settings can tell. So when the sources' settings changed since the last
 * start (`settingsOf`), the patients synced last under each key (alone on their contact) are read
 * again: when most of them are missing or share no phone with what was synced, the start is refused
 * with the fix. Unchanged settings are not compared — numbers put right or a restore from a backup
 * are the clinic's data changing, not its database — and CONFIRM_SOURCES=true starts anyway.
 */
export async function ownershipProblem(
  scopes: readonly SourceScope[],
  recentOf: (key: string | undefined, limit: number) => { patientId: string; phones: string[] }[],
  source: PatientSource,
  mapper: Mapper,
): Promise<string | undefined> {
  for (const scope of scopes) {
    const sample = recentOf(scope.bare ? undefined : scope.key, SAMPLE);
    if (sample.length === 0) continue;
    let differ = 0;
    for (const { patientId, phones } of sample) {
      const row = await source.one(scope.bare ? patientId : scopeId(scope, splitScopedId(patientId).id));
      const outcome = row ? mapper(row) : undefined;
      const now = outcome?.ok ? outcome.contact.document.phones.map((phone) => phone.value) : [];
      if (!now.some((phone) => phones.includes(phone))) differ += 1;
    }
    if (differ * 4 >= sample.length * 3) {
      const check = scope.bare
        ? "SOURCE_BARE_IDS (the clinic that synced alone before) and each source's database settings"
        : `the database settings of "${scope.key}" (SOURCE_${scope.key.toUpperCase().replace(/-/g, '_')}_DB_NAME, …)`;
      return `the patients the state holds for source "${scope.key}" do not match its database since its settings changed (${differ} of the ${sample.length} synced last are missing there or share no phone): check ${check} — a key must stay with its clinic's database, or that clinic's people would be written onto another's contacts; if the settings are right, start once with CONFIRM_SOURCES=true`;
    }
  }
  return undefined;
}

/** What the sources' settings say, as the state remembers them between starts (no password). */
export function settingsOf(
  scopes: readonly SourceScope[],
  databases: readonly {
    key: string;
    host: string;
    port: number | undefined;
    instance: string | undefined;
    database: string;
  }[],
): string {
  return JSON.stringify({
    scopes: scopes.map((scope) => [scope.key, scope.bare]),
    databases: databases.map((db) => [
      db.key,
      serverName(db.host),
      db.port ?? null,
      db.instance?.toLowerCase() ?? null,
      db.database.toLowerCase(),
    ]),
  });
}
