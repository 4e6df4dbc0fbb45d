import { IdentDbError } from '../ident/errors.ts';
import { sourcePrefix } from '../config/sources.ts';

/**
 * A failure reading one source of a chain: the same kind (so a passing outage stays passing), the
 * sentence led by the source's key and naming that source's own variables (SOURCE_NORTH_DB_NAME,
 * not DB_NAME, which every source may share).
 */
export function sourceError(key: string, error: IdentDbError): IdentDbError {
  const prefix = sourcePrefix(key);
  const message = error.message.replace(/(?<![A-Z0-9_])DB_[A-Z_]+/g, (name) => `${prefix}${name}`);
  return new IdentDbError(error.kind, `source ${key}: ${message}`, error.cause ?? error);
}
