import type { Logger } from '../logging/logger.ts';
import { registerSecret } from '../logging/redact.ts';
import { withFileLock } from '../support/file-lock.ts';
import { AmoCrmError } from './errors.ts';
import type { TokenProvider } from './http.ts';
import type { OAuthEndpoint } from './oauth.ts';
import type { StoredTokens, TokenStore } from './token-store.ts';

/** A private integration's long-lived token: nothing to refresh; a 401 means a person must act. */
export class LongLivedToken implements TokenProvider {
  private readonly token: string;
  private dead: AmoCrmError | undefined;

  constructor(token: string) {
    this.token = token;
    registerSecret(token);
  }

  async accessToken(): Promise<string> {
    if (this.dead) throw this.dead;
    return this.token;
  }

  async refreshAfterRejection(): Promise<string> {
    this.dead ??= new AmoCrmError(
      'auth',
      'amoCRM refused the long-lived token (expired or revoked); issue a new one in the integration settings and set AMOCRM_LONG_LIVED_TOKEN',
      { status: 401 },
    );
    throw this.dead;
  }
}

export interface OAuthTokenOptions {
  /** Refresh this long before the access token expires. */
  refreshAheadMs?: number;
  /** Refresh a pair this old even when idle, so the refresh token (about 3 months) never lapses. */
  rotateAfterMs?: number;
  now?: () => number;
  logger?: Logger;
}

/**
 * OAuth tokens with amoCRM's single-use refresh tokens. A refresh is single-flight inside the
 * process (concurrent callers share it) and between processes (a lock file, and a re-read of the
 * token file: a pair another process already rotated is adopted, not refreshed again). The new
 * pair is on disk before anyone uses it. A refused refresh ends it: every later call gets the same
 * clear error, with no further request.
 */
export class OAuthTokens implements TokenProvider {
  private readonly store: TokenStore;
  private readonly endpoint: OAuthEndpoint;
  private readonly refreshAheadMs: number;
  private readonly rotateAfterMs: number;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private current: StoredTokens | undefined;
  private inflight: Promise<StoredTokens> | undefined;
  private dead: AmoCrmError | undefined;

  constructor(store: TokenStore, endpoint: OAuthEndpoint, options: OAuthTokenOptions = {}) {
    this.store = store;
    this.endpoint = endpoint;
    this.refreshAheadMs = options.refreshAheadMs ?? 10 * 60_000;
    this.rotateAfterMs = options.rotateAfterMs ?? 7 * 86_400_000;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
  }

  /** When the current access token expires (ms since epoch), if tokens are stored. */
  expiresAt(): number | undefined {
    return this.load()?.expiresAt;
  }

  async accessToken(): Promise<string> {
    if (this.dead) throw this.dead;
    const tokens = this.load();
    if (!tokens) {
      throw new AmoCrmError(
        'auth',
        'no amoCRM tokens are stored; run `ident-sync auth` first (or set AMOCRM_LONG_LIVED_TOKEN)',
      );
    }
    if (!this.isFresh(tokens)) return (await this.refresh(tokens.accessToken)).accessToken;
    return tokens.accessToken;
  }

  async refreshAfterRejection(used: string): Promise<string> {
    if (this.dead) throw this.dead;
    const tokens = this.load();
    // Another caller already replaced the token that was refused.
    if (tokens && tokens.accessToken !== used && this.isFresh(tokens)) return tokens.accessToken;
    return (await this.refresh(used)).accessToken;
  }

  private load(): StoredTokens | undefined {
    this.current ??= this.store.read();
    return this.current;
  }

  private isFresh(tokens: StoredTokens): boolean {
    const now = this.now();
    return tokens.expiresAt - now > this.refreshAheadMs && now - tokens.obtainedAt < this.rotateAfterMs;
  }

  private refresh(rejected: string): Promise<StoredTokens> {
    this.inflight ??= this.refreshUnderLock(rejected).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async refreshUnderLock(rejected: string): Promise<StoredTokens> {
    return withFileLock(this.store.lockPath, async () => {
      const onDisk = this.store.read();
      if (onDisk && onDisk.accessToken !== rejected && this.isFresh(onDisk)) {
        this.logger?.info('adopting the amoCRM tokens another process refreshed');
        this.current = onDisk;
        return onDisk;
      }
      const base = onDisk ?? this.current;
      if (!base) throw new AmoCrmError('auth', 'no amoCRM tokens are stored; run `ident-sync auth` first');
      try {
        const next = await this.endpoint.refresh(base.refreshToken, this.now());
        this.store.write(next);
        this.current = next;
        this.logger?.info({ expiresAt: new Date(next.expiresAt).toISOString() }, 'amoCRM tokens refreshed');
        return next;
      } catch (error) {
        if (error instanceof AmoCrmError && error.kind === 'auth') this.dead = error;
        throw error;
      }
    });
  }
}
