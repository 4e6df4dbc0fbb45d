import { ActionableError } from '../errors.ts';
import { parseTypedId, type SourceScope } from '../sources/source-key.ts';

/**
 * The id a person typed after `flag` (`center:1042`, or a bare 1042 where one source keeps bare
 * ids or there is one source), as the sync keeps it; else one sentence naming the fix (exit 2).
 */
export function typedId(scopes: readonly SourceScope[], flag: string, typed: string): string {
  const parsed = parseTypedId(scopes, typed);
  if ('error' in parsed) throw new ActionableError(`${flag}: ${parsed.error}`, { exitCode: 2 });
  return parsed.kept;
}
