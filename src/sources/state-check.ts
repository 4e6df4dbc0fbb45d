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
): string | undefined {
  const bare = scopes.find((scope) => scope.bare);
  const keys = new Set(scopes.map((scope) => scope.key));
  const bareLinks = linked.get('') ?? 0;
  if (bareLinks > 0 && !bare)
    return `the state holds ${bareLinks} patient(s) synced before SOURCES was set (their contacts carry bare IDENT ids): set SOURCE_BARE_IDS to the key of that clinic, or each of them would get a second contact`;
  const unknown = [...linked.entries()].filter(([key, count]) => key !== '' && count > 0 && !keys.has(key));
  if (unknown.length > 0) {
    const [key, count] = unknown[0]!;
    return `the state holds ${count} patient(s) of the source "${key}", which SOURCES does not name: a source's key must never change (its patients would get second contacts) — add "${key}" back to SOURCES`;
  }
  return undefined;
}
