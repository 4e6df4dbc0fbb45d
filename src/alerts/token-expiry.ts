import { existsSync } from 'node:fs';
import { TokenStore } from '../amocrm/token-store.ts';

export interface TokenExpiry {
  which: 'long-lived' | 'refresh';
  expiresAt: Date;
}

/** amoCRM's refresh token lapses when unused for about three months. */
export const REFRESH_TOKEN_LIFE_MS = 90 * 86_400_000;

/**
 * When the amoCRM credentials stop working unless a person acts: a long-lived token's own expiry
 * (its JWT `exp`), or three months after the OAuth pair was last obtained (the daemon refreshes
 * it weekly, so this nears only when refreshing keeps failing). Undefined when unknown.
 */
export function tokenExpiry(stateDir: string, longLivedToken: string | undefined): TokenExpiry | undefined {
  if (longLivedToken !== undefined) {
    const exp = jwtExpiry(longLivedToken);
    return exp === undefined ? undefined : { which: 'long-lived', expiresAt: new Date(exp * 1000) };
  }
  const store = new TokenStore(stateDir);
  if (!existsSync(store.path)) return undefined;
  try {
    const tokens = store.read();
    if (!tokens || !tokens.obtainedAt) return undefined;
    const expiresAt = tokens.obtainedAt + REFRESH_TOKEN_LIFE_MS;
    return expiresAt > 0 && expiresAt <= LATEST_EXP * 1000
      ? { which: 'refresh', expiresAt: new Date(expiresAt) }
      : undefined;
  } catch {
    // An unreadable token file fails the next run with the fix; the token rule then sees that.
    return undefined;
  }
}

/** 9999-12-31T23:59:59Z in seconds: a Date holds up to 8.64e12 s, a shown date four digits of year. */
const LATEST_EXP = 253_402_300_799;

/** The `exp` claim of a JWT, read without verifying it (only the date is wanted). */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
    const exp = payload.exp;
    // Beyond the year 9999 (or before 1970) is no date a token could mean: no expiry known.
    return typeof exp === 'number' && exp > 0 && exp <= LATEST_EXP ? exp : undefined;
  } catch {
    return undefined;
  }
}
