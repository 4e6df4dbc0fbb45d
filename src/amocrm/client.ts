import type { AmoCrmConfig } from '../config/config.ts';
import { ActionableError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { ContactsApi } from './contacts.ts';
import { CustomFieldsApi } from './custom-fields.ts';
import { AmoHttp, type TokenProvider } from './http.ts';
import { StoredIdFilter } from './id-filter.ts';
import { LeadsApi } from './leads.ts';
import { OAuthEndpoint } from './oauth.ts';
import { PipelinesApi } from './pipelines.ts';
import { type Clock, systemClock } from '../support/clock.ts';
import { RateLimiter } from './rate-limiter.ts';
import { SharedPace } from './shared-pace.ts';
import { TokenStore } from './token-store.ts';
import { LongLivedToken, OAuthTokens } from './tokens.ts';

export interface AmoClient {
  http: AmoHttp;
  contacts: ContactsApi;
  fields: CustomFieldsApi;
  leads: LeadsApi;
  leadFields: CustomFieldsApi;
  pipelines: PipelinesApi;
  tokens: TokenProvider;
  /** When the OAuth access token expires (ms), when OAuth is used and tokens are stored. */
  tokenExpiresAt(): number | undefined;
  account(): Promise<AccountInfo>;
}

export interface AccountInfo {
  id: number;
  name: string;
  subdomain: string;
  /** The account's time zone (`with=datetime_settings`): amoCRM shows date fields as midnight there. */
  timeZone: string | undefined;
}

export interface ClientTuning {
  retryBaseMs?: number;
  rateLimitBaseMs?: number;
  limiter?: RateLimiter;
  /** Time for back-offs (the pace has its own, in `limiter`). */
  clock?: Clock;
}

const hostOf = (url: string) => new URL(url).host.toLowerCase();

/** One pace for every process of this state folder: a daemon and a one-off command together stay within the limit. */
export const sharedLimiter = (rateLimitRps: number, stateDir: string) =>
  new RateLimiter(rateLimitRps, systemClock, new SharedPace(stateDir));

/**
 * The amoCRM client for the configured account: a long-lived token when one is set, otherwise the
 * OAuth tokens `ident-sync auth` stored (their host is used when no subdomain is configured).
 */
export function createAmoClient(
  config: AmoCrmConfig,
  stateDir: string,
  logger: Logger,
  tuning: ClientTuning = {},
): AmoClient {
  const store = new TokenStore(stateDir);
  const issuedFor = config.longLivedToken ? undefined : store.read()?.baseUrl;
  // OAuth tokens belong to the account that issued them: another configured host is a mistake.
  if (issuedFor && config.baseUrl && hostOf(issuedFor) !== hostOf(config.baseUrl)) {
    throw new ActionableError(
      `the amoCRM tokens in ${stateDir} were issued for ${hostOf(issuedFor)}, but the configuration names ${hostOf(config.baseUrl)}; fix AMOCRM_SUBDOMAIN / AMOCRM_DOMAIN or run \`ident-sync auth\` again`,
      { exitCode: 2 },
    );
  }
  const baseUrl = config.baseUrl ?? issuedFor;
  if (!baseUrl) {
    throw new ActionableError(
      'the amoCRM account is not known; set AMOCRM_SUBDOMAIN (or AMOCRM_BASE_URL), or run `ident-sync auth` first',
      { exitCode: 2 },
    );
  }
  const http = new AmoHttp({
    baseUrl,
    timeoutMs: config.timeoutMs,
    limiter: tuning.limiter ?? sharedLimiter(config.rateLimitRps, stateDir),
    logger,
    retryBaseMs: tuning.retryBaseMs,
    rateLimitBaseMs: tuning.rateLimitBaseMs,
    clock: tuning.clock,
  });
  let tokens: TokenProvider;
  let tokenExpiresAt: () => number | undefined = () => undefined;
  if (config.longLivedToken) {
    tokens = new LongLivedToken(config.longLivedToken);
  } else {
    if (!config.clientId || !config.clientSecret) {
      throw new ActionableError(
        'set AMOCRM_CLIENT_ID and AMOCRM_CLIENT_SECRET (or AMOCRM_LONG_LIVED_TOKEN)',
        {
          exitCode: 2,
        },
      );
    }
    const endpoint = new OAuthEndpoint(http, {
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      redirectUri: config.redirectUri,
    });
    const oauth = new OAuthTokens(store, endpoint, { logger });
    tokens = oauth;
    tokenExpiresAt = () => oauth.expiresAt();
  }
  http.useTokens(tokens);
  // Whether amoCRM ignores filter[id] is a trait of the account, shared by contacts and deals.
  const idFilter = new StoredIdFilter(stateDir, baseUrl);
  return {
    http,
    contacts: new ContactsApi(http, config.batchSize, idFilter),
    fields: new CustomFieldsApi(http),
    leads: new LeadsApi(http, config.batchSize, idFilter),
    leadFields: new CustomFieldsApi(http, 'leads'),
    pipelines: new PipelinesApi(http),
    tokens,
    tokenExpiresAt,
    async account() {
      const response = await http.get<{
        id: number;
        name: string;
        subdomain: string;
        is_api_filter_enabled?: boolean;
        _embedded?: { datetime_settings?: { timezone?: string } };
      }>('/api/v4/account', { with: 'datetime_settings' });
      const { id, name, subdomain } = response.data;
      if (typeof response.data.is_api_filter_enabled === 'boolean')
        idFilter.noteAccountFlag(response.data.is_api_filter_enabled);
      return {
        id,
        name,
        subdomain,
        timeZone: response.data._embedded?.datetime_settings?.timezone || undefined,
      };
    },
  };
}
