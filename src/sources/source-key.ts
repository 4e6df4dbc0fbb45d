/**
 * Which IDENT database a patient or a visit comes from. A clinic chain runs one IDENT database
 * per clinic and one amoCRM account: ids are only unique within a database, so everywhere the
 * sync keeps an id (state, mirrors, the contact's IDENT id field, the deal's reception id field)
 * it keeps the source's key with it — `north:1042`.
 *
 * One source may keep bare ids (`1042`): the clinic that synced alone before the chain was
 * configured. Its contacts and deals already carry bare ids, and rewriting them all would be
 * 2 × N writes for nothing; a single clinic is exactly this case, so it upgrades with 0 writes.
 */
export const SOURCE_KEY = /^[a-z][a-z0-9_-]{0,15}$/;

/** The key of the one source of a configuration without SOURCES. */
export const DEFAULT_SOURCE_KEY = 'main';

export interface SourceScope {
  key: string;
  /** Ids of this source are kept without the key (the clinic that synced alone before). */
  bare: boolean;
}

export function checkSourceKey(key: string): string | undefined {
  return SOURCE_KEY.test(key)
    ? undefined
    : `"${key}" is not a source key: use 1–16 lowercase latin letters, digits, "-" or "_", starting with a letter (for example center, north)`;
}

/** The id as the sync keeps it: `north:1042`, or `1042` for the source that keeps bare ids. */
export function scopeId(scope: SourceScope, id: string): string {
  return scope.bare ? id : `${scope.key}:${id}`;
}

const SCOPED = /^([a-z][a-z0-9_-]{0,15}):(\d+)$/;

/** The source key and the database's own id of a kept id; `key` undefined for a bare id. */
export function splitScopedId(kept: string): { key: string | undefined; id: string } {
  const match = SCOPED.exec(kept.trim());
  return match ? { key: match[1]!, id: match[2]! } : { key: undefined, id: kept.trim() };
}

/** Whether a kept id belongs to this source. */
export function ownsId(scope: SourceScope, kept: string): boolean {
  const { key } = splitScopedId(kept);
  return scope.bare ? key === undefined : key === scope.key;
}

/** The source a kept id belongs to, among these; undefined when none of them owns it. */
export function sourceOf<S extends SourceScope>(sources: readonly S[], kept: string): S | undefined {
  return sources.find((source) => ownsId(source, kept));
}

/**
 * An id typed by a person (`test --patient-id center:1042`, or a bare 1042): the kept id, or one
 * sentence naming the fix.
 */
export function parseTypedId(
  sources: readonly SourceScope[],
  typed: string,
): { kept: string; source: SourceScope } | { error: string } {
  const { key, id } = splitScopedId(typed);
  if (!/^\d+$/.test(id))
    return {
      error: `"${typed}" is not an IDENT id: expected a number, or source:number (for example center:1042)`,
    };
  const keys = sources.map((source) => source.key).join(', ');
  if (key === undefined) {
    const bare = sources.find((source) => source.bare);
    if (bare) return { kept: id, source: bare };
    if (sources.length === 1) return { kept: scopeId(sources[0]!, id), source: sources[0]! };
    return {
      error: `say which clinic "${typed}" belongs to: ${sources.map((source) => `${source.key}:${id}`).join(' or ')}`,
    };
  }
  const source = sources.find((candidate) => candidate.key === key);
  if (!source) return { error: `there is no source "${key}": the sources are ${keys}` };
  return { kept: scopeId(source, id), source };
}

/** The ids a contact's IDENT id field holds: one, or a list (`1042, north:77`) on a contact shared by clinics. */
export function idsInField(value: string | null | undefined): string[] {
  if (!value) return [];
  return [
    ...new Set(
      value
        .split(/[,;\s]+/)
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    ),
  ];
}

/** The field value for a contact carrying these patients: sorted, so the same set is the same text. */
export function fieldOfIds(ids: Iterable<string>): string {
  return [...new Set(ids)].sort(compareKept).join(', ');
}

/** Bare ids first, then by source key, then numerically. */
export function compareKept(a: string, b: string): number {
  const left = splitScopedId(a);
  const right = splitScopedId(b);
  if (left.key !== right.key) {
    if (left.key === undefined) return -1;
    if (right.key === undefined) return 1;
    return left.key < right.key ? -1 : 1;
  }
  return Number(left.id) - Number(right.id) || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0);
}
