import { AmoCrmError } from '../amocrm/errors.ts';
import { IdentDbError } from '../ident/errors.ts';
import type { RunErrorKind } from '../state/store.ts';

/**
 * Why a run (or the daemon's start-up) failed, as the alert rules weigh it. The error's causes
 * are followed: a start-up check may wrap the client's error in its own.
 */
export function errorKindOf(error: unknown): RunErrorKind {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (cause instanceof IdentDbError) return 'ident-unreachable';
    if (cause instanceof AmoCrmError) {
      if (cause.kind === 'blocked') return 'blocked';
      if (cause.kind === 'payment') return 'unpaid';
      if (cause.kind === 'auth') return 'token';
      if (cause.kind === 'unavailable') return 'amocrm-unreachable';
      return 'other';
    }
    cause = cause.cause;
  }
  return 'other';
}

/** The kinds that say something about amoCRM, and about IDENT. */
export const AMOCRM_KINDS: ReadonlySet<RunErrorKind> = new Set([
  'amocrm-unreachable',
  'blocked',
  'unpaid',
  'token',
]);
/** amoCRM answered, and refused: the account's and the token's problems. */
export const REFUSAL_KINDS: ReadonlySet<RunErrorKind> = new Set(['blocked', 'unpaid', 'token']);
export const IDENT_KINDS: ReadonlySet<RunErrorKind> = new Set(['ident-unreachable']);
