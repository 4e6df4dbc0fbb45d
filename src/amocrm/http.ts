import axios, {
  type AxiosError,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import axiosRetry from 'axios-retry';
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import type { Logger } from '../logging/logger.ts';
import { silentLogger } from '../logging/logger.ts';
import {
  AmoCrmError,
  AmoValidationError,
  describeProblem,
  forbiddenError,
  parseValidationErrors,
} from './errors.ts';
import type { Departure, RateLimiter } from './rate-limiter.ts';
import { type Clock, systemClock } from '../support/clock.ts';

/** Supplies bearer tokens; `refreshAfterRejection` runs when amoCRM answered 401 to `used`. */
export interface TokenProvider {
  accessToken(): Promise<string>;
  refreshAfterRejection(used: string): Promise<string>;
}

export interface HttpStats {
  requests: number;
  writeRequests: number;
  requests429: number;
  retries: number;
  statuses: Record<string, number>;
}

export interface AmoHttpOptions {
  baseUrl: string;
  timeoutMs: number;
  limiter: RateLimiter;
  tokens?: TokenProvider;
  logger?: Logger;
  /** First back-off step for 5xx and network errors; doubles each try (tests make it small). */
  retryBaseMs?: number;
  /** First back-off step after a 429 without Retry-After. */
  rateLimitBaseMs?: number;
  retries?: number;
  /** Back-off sleeps (a simulation runs them in virtual time). */
  clock?: Clock;
}

interface AmoRequestConfig extends InternalAxiosRequestConfig {
  amoAuth?: boolean;
  amoToken?: string;
  amoAuthRetried?: boolean;
  amoTokenEndpoint?: boolean;
}

const IDEMPOTENT = new Set(['get', 'head', 'patch', 'put', 'delete']);
// The request never reached amoCRM, so even a create is safe to send again.
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const jitter = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5));

export function retryAfterMs(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Math.min(300_000, Number(header) * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(300_000, Math.max(0, date - now));
}

/**
 * node's http or https, telling the pace when the request's last byte was handed to the system.
 * The timeout is node's own from the start (axios arms its connect timer only for its built-in
 * transport), so a connection that never opens still times out.
 */
const leavingTransport = (departure: Departure, timeoutMs: number | undefined) => ({
  request(options: RequestOptions, onResponse: (response: IncomingMessage) => void): ClientRequest {
    const timeout = timeoutMs && timeoutMs > 0 ? { timeout: timeoutMs } : {};
    const request = (options.protocol === 'https:' ? https : http).request(
      { ...options, ...timeout },
      onResponse,
    );
    request.once('finish', () => departure.left());
    return request;
  },
});

/**
 * The transport to one amoCRM account: every request waits for the shared rate limiter, carries
 * a bearer token, and is retried only where retrying cannot do harm.
 */
export class AmoHttp {
  readonly baseUrl: string;
  readonly stats: HttpStats = { requests: 0, writeRequests: 0, requests429: 0, retries: 0, statuses: {} };
  private readonly axios: AxiosInstance;
  private readonly limiter: RateLimiter;
  private tokens: TokenProvider | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(options: AmoHttpOptions) {
    this.clock = options.clock ?? systemClock;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.limiter = options.limiter;
    this.tokens = options.tokens;
    this.logger = options.logger ?? silentLogger();
    const retryBaseMs = options.retryBaseMs ?? 1000;
    const rateLimitBaseMs = options.rateLimitBaseMs ?? 2000;
    this.axios = axios.create({
      baseURL: this.baseUrl,
      timeout: options.timeoutMs,
      headers: { 'user-agent': 'ident-amocrm-sync', accept: 'application/json' },
      // Bodies are parsed by us: amoCRM answers hal+json, problem+json, and sometimes HTML.
      responseType: 'text',
      transitional: { clarifyTimeoutError: true },
      maxRedirects: 0,
      // The pace is taken as the very last step before Node's http module writes the request:
      // whatever the interceptors, token refreshes or a busy event loop cost comes before the
      // departure is stamped, never between the stamp and the wire (amoCRM counts arrivals).
      adapter: async (config) => {
        config.transport = leavingTransport(await this.limiter.acquire(), config.timeout);
        this.stats.requests += 1;
        if (config.method !== 'get') this.stats.writeRequests += 1;
        return send(config);
      },
    });
    const send = axios.getAdapter(['http']);

    this.axios.interceptors.request.use(async (config: AmoRequestConfig) => {
      if (config.amoAuth && this.tokens) {
        config.amoToken = await this.tokens.accessToken();
        config.headers.set('authorization', `Bearer ${config.amoToken}`);
      }
      return config;
    });

    // Counted before the retry logic sees the answer, so every 429 is counted once.
    this.axios.interceptors.response.use(
      (response) => this.count(response),
      (error: AxiosError) => {
        if (error.response) this.count(error.response);
        if (error.response?.status === 403) {
          // The block and an IP whitelist stop every request; missing rights only this one.
          const forbidden = forbiddenError(
            parseBody(error.response.data),
            error.config?.method,
            error.config?.url,
          );
          if (forbidden.kind === 'blocked') this.limiter.block(forbidden);
        }
        return Promise.reject(error);
      },
    );

    axiosRetry(this.axios, {
      retries: options.retries ?? 6,
      shouldResetTimeout: true,
      retryCondition: (error) => this.shouldRetry(error),
      // Every back-off waits on the injected clock, not on axios-retry's own timer: a 429 pauses
      // the shared pace (the next acquire waits), anything else sleeps here.
      retryDelay: () => 0,
      onRetry: async (retryCount, error) => {
        const wait = this.backOff(retryCount, error, retryBaseMs, rateLimitBaseMs);
        if (wait > 0) await this.clock.sleep(wait);
      },
    });

    this.axios.interceptors.response.use(undefined, (error: AxiosError) => this.afterFailure(error));
  }

  /** Records a retry and returns how long to sleep before it (0 after a 429: the pace waits). */
  private backOff(
    retryCount: number,
    error: AxiosError,
    retryBaseMs: number,
    rateLimitBaseMs: number,
  ): number {
    this.stats.retries += 1;
    if (error.response?.status === 429) {
      // amoCRM counts requests per second: a pause shorter than that window cannot help.
      const wait = Math.max(
        1000,
        retryAfterMs(error.response.headers['retry-after'], this.clock.now()) ??
          jitter(Math.min(60_000, rateLimitBaseMs * 2 ** (retryCount - 1))),
      );
      this.limiter.pauseFor(wait);
      this.logger.warn(
        { waitMs: wait, rate: this.limiter.currentRate },
        'amoCRM answered 429; pausing every request',
      );
      return 0;
    }
    const wait = jitter(Math.min(30_000, retryBaseMs * 2 ** (retryCount - 1)));
    // Worth a person's eye: amoCRM unreachable or failing shows in the log while it lasts.
    this.logger.warn(
      { waitMs: wait, attempt: retryCount, status: error.response?.status, errno: error.code },
      error.response ? 'amoCRM answered with an error; retrying' : 'amoCRM did not answer; retrying',
    );
    return wait;
  }

  /** Set after construction: the OAuth provider itself talks to the token endpoint through us. */
  useTokens(tokens: TokenProvider): void {
    this.tokens = tokens;
  }

  async get<T>(path: string, params?: Record<string, string | number | string[]>): Promise<AxiosResponse<T>> {
    return this.send<T>({ method: 'get', url: path, params, paramsSerializer: { indexes: false } });
  }

  async post<T>(path: string, data: unknown): Promise<AxiosResponse<T>> {
    return this.send<T>({ method: 'post', url: path, data });
  }

  async patch<T>(path: string, data: unknown): Promise<AxiosResponse<T>> {
    return this.send<T>({ method: 'patch', url: path, data });
  }

  /** POST /oauth2/access_token: no bearer token, and never resent after a timeout (it rotates tokens). */
  async tokenRequest<T>(data: unknown): Promise<AxiosResponse<T>> {
    return this.send<T>(
      { method: 'post', url: '/oauth2/access_token', data },
      { auth: false, tokenEndpoint: true },
    );
  }

  private async send<T>(
    request: { method: string; url: string; params?: unknown; data?: unknown; paramsSerializer?: unknown },
    flags: { auth?: boolean; tokenEndpoint?: boolean } = {},
  ): Promise<AxiosResponse<T>> {
    const response = await this.axios.request<string>({
      ...request,
      headers: request.data === undefined ? {} : { 'content-type': 'application/json' },
      amoAuth: flags.auth ?? true,
      amoTokenEndpoint: flags.tokenEndpoint ?? false,
    } as AmoRequestConfig);
    return { ...response, data: parseBody(response.data) as T };
  }

  private count(response: AxiosResponse): AxiosResponse {
    const key = String(response.status);
    this.stats.statuses[key] = (this.stats.statuses[key] ?? 0) + 1;
    if (response.status === 429) this.stats.requests429 += 1;
    return response;
  }

  private shouldRetry(error: AxiosError): boolean {
    const status = error.response?.status;
    if (status === 429) return true;
    if (this.limiter.blocked) return false;
    const config = error.config as AmoRequestConfig | undefined;
    const method = (config?.method ?? 'get').toLowerCase();
    if (!error.response) {
      if (error.code && NEVER_SENT.has(error.code)) return true;
      return IDEMPOTENT.has(method) && !config?.amoTokenEndpoint;
    }
    return status !== undefined && status >= 500 && IDEMPOTENT.has(method);
  }

  /** Turns what is left after retries into an AmoCrmError saying what the caller should do. */
  private async afterFailure(error: AxiosError): Promise<AxiosResponse> {
    const config = error.config as AmoRequestConfig | undefined;
    if (error instanceof AmoCrmError) throw error;
    if (this.limiter.blocked && (!error.response || error.response.status === 403))
      throw this.limiter.blocked;
    const method = (config?.method ?? 'get').toUpperCase();
    const where = `${method} ${config?.url ?? ''}`;
    const status = error.response?.status;
    const body = error.response ? parseBody(error.response.data) : undefined;

    if (status === 401 && config?.amoAuth && this.tokens && !config.amoAuthRetried && config.amoToken) {
      await this.tokens.refreshAfterRejection(config.amoToken);
      config.amoAuthRetried = true;
      const retried = await this.axios.request<string>(config);
      return retried;
    }
    if (status === 401 && config?.amoAuth) {
      throw new AmoCrmError(
        'auth',
        `amoCRM refused the access token twice (${where}); run \`ident-sync auth\` to authorise again`,
        {
          status,
        },
      );
    }
    if (status === 400 || status === 422) {
      const problems = parseValidationErrors(body);
      if (problems) throw new AmoValidationError(problems, status);
    }
    if (status === 403) throw forbiddenError(body, method, config?.url);
    if (status === 402) {
      throw new AmoCrmError(
        'payment',
        `amoCRM refused ${where}: the account's subscription does not allow it (HTTP 402: ${describeProblem(body)}); renew the amoCRM plan`,
        { status },
      );
    }
    if (status === 429) {
      throw new AmoCrmError(
        'unavailable',
        `amoCRM kept answering 429 (too many requests) to ${where}; the next run tries again`,
        { status },
      );
    }
    const uncertainWrite = method === 'POST' && !config?.amoTokenEndpoint;
    if (status !== undefined && status >= 500) {
      throw new AmoCrmError(
        uncertainWrite ? 'uncertain' : 'unavailable',
        `amoCRM answered HTTP ${status} to ${where}${uncertainWrite ? '; the create may have landed' : ' after retries'}`,
        { status },
      );
    }
    if (status !== undefined) {
      const said = describeProblem(body);
      throw new AmoCrmError(
        'rejected',
        `amoCRM refused ${where} with HTTP ${status}${said ? `: ${said}` : ''}`,
        { status },
      );
    }
    const reason =
      error.code === 'ETIMEDOUT' || error.code === 'ECONNABORTED'
        ? 'timed out'
        : `failed (${error.code ?? error.message})`;
    if (error.code && NEVER_SENT.has(error.code)) {
      throw new AmoCrmError(
        'unavailable',
        `cannot reach amoCRM at ${this.baseUrl} (${error.code}); check AMOCRM_SUBDOMAIN / AMOCRM_BASE_URL and the network`,
      );
    }
    throw new AmoCrmError(
      uncertainWrite ? 'uncertain' : 'unavailable',
      `${where} to amoCRM ${reason}${uncertainWrite ? '; the create may have landed' : ' after retries'}`,
    );
  }
}

function parseBody(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  if (data === '') return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
