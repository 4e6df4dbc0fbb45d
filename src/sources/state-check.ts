import type { SourceScope } from './source-key.ts';

/**
 * Whether the state's patients fit the configured sources. A patient's kept id names its source:
 * ids that no configured source owns would never be read again, and the same patients read under
 * another key would each get a second contact. Both are refused before anything is sent, with the
 * fix. `linked`: the state's linked patients by source key ('' for bare ids).
 */
export function sourcesProblem(
  scopes: readonly SourceScope[],
  linked: ReadonlyMap<string, number>,
  /** The source that kept bare ids when the state was last run as a chain (the state's meta). */
  recordedBare?: string,
): string | undefined {
  const bare = scopes.find((scope) => scope.bare);
  const keys = scopes.map((scope) => scope.key);
  const bareLinks = linked.get('') ?? 0;
  if (recordedBare && bareLinks > 0 && !keys.includes(recordedBare))
    return `the state's bare ids are the patients of "${recordedBare}", which SOURCES no longer names: a source's key must never change — put "${recordedBare}" back in SOURCES (SOURCES=${[recordedBare, ...keys.filter((key) => key !== bare?.key)].join(',')}) with SOURCE_BARE_IDS=${recordedBare}`;
  if (recordedBare !== undefined && bare !== undefined && bare.key !== recordedBare && bareLinks > 0)
    return `SOURCE_BARE_IDS names "${bare.key}", but the state's bare ids are the patients of "${recordedBare}": set SOURCE_BARE_IDS=${recordedBare} (the clinic whose ids stay bare cannot change, or each of its patients would get a second contact)`;
  const scopedOfBare = bare ? (linked.get(bare.key) ?? 0) : 0;
  if (bare && scopedOfBare > 0)
    return `the state holds ${scopedOfBare} patient(s) of "${bare.key}" with scoped ids (${bare.key}:1042): remove SOURCE_BARE_IDS=${bare.key} — only a clinic that synced alone before the chain keeps bare ids, or each of its patients would get a second contact`;
  if (bareLinks > 0 && !bare)
    return `the state holds ${bareLinks} patient(s) synced before SOURCES was set (their contacts carry bare IDENT ids): set SOURCE_BARE_IDS to the key of that clinic, or each of them would get a second contact`;
  const unknown = [...linked.entries()].filter(
    ([key, count]) => key !== '' && count > 0 && !keys.includes(key),
  );
  if (unknown.length > 0) {
    const [key, count] = unknown[0]!;
    return `the state holds ${count} patient(s) of the source "${key}", which SOURCES does not name: a source's key must never change (its patients would get second contacts) — add "${key}" back to SOURCES`;
  }
  return undefined;
}

/** A deal map's own pipelines for a clinic SOURCES does not name (a typo sends nobody there). */
export function pipelineSourcesProblem(
  scopes: readonly SourceScope[],
  bySource: readonly string[],
): string | undefined {
  const keys = scopes.map((scope) => scope.key);
  const unknown = bySource.find((key) => !keys.includes(key));
  return unknown === undefined
    ? undefined
    : `the deal map's pipelines.bySource names "${unknown}", which is not a source of SOURCES (${keys.join(', ')}): fix the key in the deal map`;
}
