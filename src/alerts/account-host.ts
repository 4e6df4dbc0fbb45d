import { TokenStore } from '../amocrm/token-store.ts';

/**
 * Which installation an alert comes from: the amoCRM account's host, from the settings or, when
 * `ident-sync auth` learned it, from the token file. Not personal data.
 */
export function accountHost(baseUrl: string | undefined, stateDir: string): string {
  try {
    const known = baseUrl ?? new TokenStore(stateDir).read()?.baseUrl;
    if (known) return new URL(known).host;
  } catch {
    // An unreadable token file: the run that reads it says so with the fix.
  }
  return 'amoCRM account not set';
}
