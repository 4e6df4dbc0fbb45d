import { randomBytes } from 'node:crypto';
import { registerSecret } from '../logging/redact.ts';
import { AmoCrmError } from './errors.ts';
import type { AmoHttp } from './http.ts';
import type { StoredTokens } from './token-store.ts';

export interface OAuthCredentials {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

interface TokenResponse {
  token_type?: string;
  expires_in?: number;
  access_token?: string;
  refresh_token?: string;
}

/** The consent page a person opens to grant the integration access to their account. */
export function consentUrl(baseUrl: string, clientId: string, state: string): string {
  const url = new URL('/oauth', baseUrl);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('state', state);
  url.searchParams.set('mode', 'post_message');
  return url.toString();
}

export const newState = () => randomBytes(16).toString('hex');

/** amoCRM's token endpoint: code exchange and refresh (which rotates the refresh token). */
export class OAuthEndpoint {
  private readonly http: AmoHttp;
  private readonly credentials: OAuthCredentials;

  constructor(http: AmoHttp, credentials: OAuthCredentials) {
    this.http = http;
    this.credentials = credentials;
    registerSecret(credentials.clientSecret);
  }

  exchangeCode(code: string, now = Date.now()): Promise<StoredTokens> {
    registerSecret(code);
    return this.grant({ grant_type: 'authorization_code', code }, now);
  }

  refresh(refreshToken: string, now = Date.now()): Promise<StoredTokens> {
    return this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken }, now);
  }

  private async grant(grant: Record<string, string>, now: number): Promise<StoredTokens> {
    let body: TokenResponse;
    try {
      const response = await this.http.tokenRequest<TokenResponse>({
        client_id: this.credentials.clientId,
        client_secret: this.credentials.clientSecret,
        redirect_uri: this.credentials.redirectUri,
        ...grant,
      });
      body = response.data;
    } catch (error) {
      throw explainGrantFailure(error, grant.grant_type === 'refresh_token');
    }
    if (typeof body?.access_token !== 'string' || typeof body.refresh_token !== 'string') {
      throw new AmoCrmError(
        'auth',
        'amoCRM answered the token request without tokens; run `ident-sync auth` again',
      );
    }
    registerSecret(body.access_token);
    registerSecret(body.refresh_token);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 86_400;
    return {
      baseUrl: this.http.baseUrl,
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      expiresAt: now + lifetime * 1000,
      obtainedAt: now,
    };
  }
}

/** One sentence naming the fix, for every way the token endpoint says no. */
function explainGrantFailure(error: unknown, refreshing: boolean): unknown {
  if (!(error instanceof AmoCrmError) || error.kind !== 'rejected') return error;
  // The message carries amoCRM's title, detail and hint (e.g. "Token has been revoked").
  const text = error.message.toLowerCase();
  if (text.includes('некорректный клиент') || text.includes('client authentication')) {
    return new AmoCrmError(
      'auth',
      'amoCRM rejected the integration keys; check AMOCRM_CLIENT_ID and AMOCRM_CLIENT_SECRET',
      {
        status: error.status,
      },
    );
  }
  if (text.includes('redirect')) {
    return new AmoCrmError(
      'auth',
      "amoCRM rejected the redirect URL; set AMOCRM_REDIRECT_URI to exactly the integration's redirect URL",
      { status: error.status },
    );
  }
  if (refreshing) {
    return new AmoCrmError(
      'auth',
      `amoCRM refused the refresh token (${text.includes('expired') ? 'it expired' : 'it was already used or revoked'}); run \`ident-sync auth\` to authorise again`,
      { status: error.status },
    );
  }
  return new AmoCrmError(
    'auth',
    `amoCRM refused the authorization code (${text.includes('expired') ? 'it expired: codes live 20 minutes' : 'it was already used or is wrong'}); get a new code and run \`ident-sync auth\` again`,
    { status: error.status },
  );
}
