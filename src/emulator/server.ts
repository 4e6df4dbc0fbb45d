import { contactsPage, leadsPage } from './pages.ts';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  applyFieldValues,
  HttpError,
  idsFilter,
  listPage,
  problem,
  requestIdOf,
  type StoredField,
  validationFailure,
} from './common.ts';
import { LeadBook } from './leads.ts';
import type { SystemStageNames } from './pipelines.ts';
import { mulberry32 } from '../support/random.ts';
import {
  type EmulatedField,
  NEGATIVE_DATE,
  validateCustomFieldValues,
  type ValidationError,
} from './validation.ts';

/**
 * An amoCRM API v4 look-alike for tests, benchmarks and the demo. It behaves as
 * ../shared/reference/amocrm-api.md describes: OAuth with single-use rotating refresh tokens,
 * 7 requests per second (429, then a 403 block with an HTML body), 204 on empty lists, batch
 * writes with request_id, type-checked custom fields, and switches that inject faults.
 */

export interface Faults {
  /** Share of API requests answered 500/502/503 without being processed. */
  serverErrorRate: number;
  /** Share of API requests whose connection is dropped before they are processed. */
  dropRate: number;
  /** Share of API requests answered only after `slowMs`; writes are applied first (the duplicate trap). */
  slowRate: number;
  slowMs: number;
  /** Share of API requests answered 429 without being processed (not counted as violations). */
  tooManyRate: number;
  /** Share of writes (POST and PATCH) applied and then answered 500/502/503. */
  appliedServerErrorRate: number;
  /** Retry-After (seconds) sent with injected 429s; absent when undefined. */
  retryAfterSeconds: number | undefined;
  /**
   * Share of creates (POST contacts or leads) applied only 0.4–1 × `delayedApplyMs` after they
   * arrived, then answered: a client that gave up or died meanwhile finds them later (issue 18, hole 1).
   */
  delayedApplyRate: number;
  delayedApplyMs: number;
}

export const NO_FAULTS: Faults = {
  serverErrorRate: 0,
  dropRate: 0,
  slowRate: 0,
  slowMs: 0,
  tooManyRate: 0,
  appliedServerErrorRate: 0,
  retryAfterSeconds: undefined,
  delayedApplyRate: 0,
  delayedApplyMs: 0,
};

/** A scripted answer to the next request of a method (see `scriptFault`). */
export type ScriptedFault =
  | { method: string; status: number; applied?: boolean }
  | {
      method: 'POST' | 'post';
      applyAfterMs: number;
      drop?: boolean;
      path?: '/api/v4/contacts' | '/api/v4/leads';
    };

/** Creates of these paths can be applied late. */
const CREATE_PATHS = new Set(['/api/v4/contacts', '/api/v4/leads']);

/**
 * Where amoCRM is stricter or odder than a naive server: each behind a switch, on by default where
 * the real API behaves so (../shared/reference/amocrm-api.md, "Facts added after the first release").
 */
export interface Strictness {
  /** A negative Unix timestamp in a date, birthday or date_time field is refused (amocrm-api-php #85, #219). */
  refuseNegativeDates: boolean;
  /** Full-text `query` does not see contacts written within this many milliseconds (search lag). */
  searchLagMs: number;
  /** `query` matches text as stored: "8 (900) 123-45-67" is not found by 9001234567. */
  searchAsStored: boolean;
  /** PATCH answers carry ids but no request_id. */
  patchAnswersWithoutRequestId: boolean;
  /** A key a contact does not have is refused with FieldNotExpected. */
  refuseUnknownKeys: boolean;
  /** The answer to a PATCH naming a contact deleted in the interface (undocumented; all three are possible). */
  deletedContactPatch: 'validation' | 'bad-request' | 'not-found';
  /** An unticked checkbox is read back as no value at all. */
  uncheckedCheckboxAbsent: boolean;
  /** Entities per write request before 400 (the official library sends at most 50). */
  maxBatch: number;
  /** A create batch refused for one item still stores the valid ones (undocumented either way). */
  createStoresValidItemsOn400: boolean;
  /** `order[id]` / `order[updated_at]` sort the contact list; off: ignored, as filters are on some accounts. */
  honourOrder: boolean;
  /** `filter[id]` narrows the list; off: ignored (every contact comes back). */
  honourIdFilter: boolean;
  /** Every API request is answered 402 (the account is not paid). */
  paymentRequired: boolean;
  /**
   * How a PATCH clears PHONE or EMAIL, which no amoCRM document states: the official PHP library
   * clears any field with `values: null` (NullCustomFieldValueCollection); whether `values: []`
   * does too is unknown. The form named here clears the list; the other is refused (400).
   */
  multitextClear: 'null' | 'empty-list';
  /**
   * 403s other than the rate-limit block (amoCRM's error reference: code 113; "нет прав"):
   * 'ip': every API request, the account's IP whitelist lacks the caller; 'rights': writes to
   * pipelines, stages and custom fields, which only an admin may make.
   */
  forbidden: 'none' | 'ip' | 'rights';
  /**
   * Milliseconds the `Date` header runs ahead (+) or behind (−) the clock that stamps
   * `updated_at`: a client must not take its watermark from it (issue 18, hole 2).
   */
  dateSkewMs: number;
}

export const STRICT: Strictness = {
  refuseNegativeDates: true,
  searchLagMs: 0,
  searchAsStored: true,
  patchAnswersWithoutRequestId: true,
  refuseUnknownKeys: true,
  deletedContactPatch: 'validation',
  uncheckedCheckboxAbsent: true,
  maxBatch: 50,
  createStoresValidItemsOn400: false,
  honourOrder: true,
  honourIdFilter: true,
  paymentRequired: false,
  multitextClear: 'null',
  forbidden: 'none',
  dateSkewMs: 0,
};

/** Keys amoCRM knows in a contact written through the API. */
const CONTACT_KEYS = new Set([
  'id',
  'name',
  'first_name',
  'last_name',
  'responsible_user_id',
  'created_by',
  'updated_by',
  'created_at',
  'updated_at',
  'custom_fields_values',
  'tags_to_add',
  'tags_to_delete',
  '_embedded',
  'request_id',
]);

export interface EmulatorOptions {
  port?: number;
  /** Address to listen on; 127.0.0.1 unless a container must reach it. */
  host?: string;
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  longLivedTokens?: string[];
  accessTokenSeconds?: number;
  /** Requests allowed in any one-second window before 429. */
  rateLimit?: number;
  /** Rate-limit violations after which every request gets 403 (the account block). */
  blockAfterViolations?: number;
  /** Largest page of custom fields (amoCRM returns at most 50). */
  fieldPageSize?: number;
  seed?: number;
  /** Milliseconds added to every API answer (network and server time of a real account). */
  latencyMs?: number;
  /** The account's time zone (`GET /api/v4/account?with=datetime_settings`). */
  timeZone?: string;
  strict?: Partial<Strictness>;
  /** amoCRM's clock (ms since the epoch): a simulation runs the account in virtual time. */
  clock?: () => number;
  /**
   * What the system stages are called: a Russian account's ("Успешно реализовано"), or a kommo.com
   * / amocrm.com one's ("Closed - won", "Closed - lost", "Incoming leads"). Russian by default.
   */
  systemStages?: SystemStageNames;
}

export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  status: number;
  write: boolean;
  items: number;
  /** The query string, for tests that check what was asked (e.g. no full-text search). */
  query: string;
  fault?: string;
}

export interface StoredContact {
  id: number;
  name: string;
  first_name: string;
  last_name: string;
  responsible_user_id: number;
  created_at: number;
  updated_at: number;
  account_id: number;
  custom_fields_values: StoredField[] | null;
  _embedded: { tags: [] };
}

const ACCOUNT_ID = 31_000_001;
type FieldEntity = 'contacts' | 'leads';
const FIELD_TYPES = new Set([
  'text',
  'numeric',
  'checkbox',
  'select',
  'multiselect',
  'radiobutton',
  'date',
  'date_time',
  'birthday',
  'textarea',
  'url',
  'streetaddress',
]);

const oauthProblem = (status: number, hint: string, title = 'Некорректный запрос') => ({
  hint,
  title,
  type: 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson',
  status,
  detail: 'В запросе отсутствует ряд параметров или параметры невалидны',
});

export class AmoCrmEmulator {
  readonly options: Required<
    Omit<EmulatorOptions, 'port' | 'seed' | 'host' | 'strict' | 'clock' | 'systemStages'>
  >;
  /** amoCRM's clock, ms. */
  readonly clock: () => number;
  strict: Strictness;
  /**
   * What the client sent that amoCRM refuses or punishes, whatever the switches say: a negative
   * date timestamp, a PHONE/EMAIL cleared while it held a value a manager added (erases their
   * numbers), more than 50 items.
   * Tests assert it stays empty.
   */
  readonly breaches: string[] = [];
  /**
   * How values of numeric custom fields arrived in writes: amoCRM documents them as strings
   * ("1.5") and reads them back so; both are accepted, tests check the client sends strings.
   */
  readonly numericSent = { strings: 0, numbers: 0 };
  /** When each contact was last written (ms), for the search lag. */
  private readonly writtenAt = new Map<number, number>();
  /** One-shot answers for the next requests of a method (tests that break exactly one request). */
  private readonly scripted: {
    method: string;
    status: number;
    applied: boolean;
    applyAfterMs?: number;
    drop?: boolean;
    path?: string;
  }[] = [];
  /** Creates received but not applied yet (a delayed apply): each applies itself when its time comes. */
  private readonly delayed = new Set<{ timer: NodeJS.Timeout; apply: () => void }>();
  readonly contacts = new Map<number, StoredContact>();
  /** PHONE and EMAIL values a manager typed (seeded, edited, merged in by hand), by contact. */
  private readonly byHand = new Map<number, Set<string>>();
  readonly fields = new Map<number, EmulatedField>();
  /** Deals, pipelines and deal fields. */
  readonly deals: LeadBook;
  readonly requests: LoggedRequest[] = [];
  faults: Faults = { ...NO_FAULTS };
  /**
   * Called before a contact or deal list request is answered (tests: a manager deletes a contact
   * between two pages of a listing).
   */
  onList: ((entity: FieldEntity, url: URL) => void) | undefined;
  blocked = false;
  violations = 0;
  /** The most requests seen in any one-second window (all received API and OAuth requests). */
  maxRequestsInAnySecond = 0;
  /** How many times each grant was used on the token endpoint. */
  readonly tokenCalls = { authorization_code: 0, refresh_token: 0 };

  private server: Server | undefined;
  private readonly recent: number[] = [];
  private nextContactId = 20_000_001;
  private nextFieldId = 600_001;
  private nextEnumId = 900_001;
  private random: () => number;
  private readonly codes = new Map<string, { expiresAt: number; used: boolean }>();
  private readonly accessTokens = new Map<string, number>();
  private readonly refreshTokens = new Map<string, { expiresAt: number; used: boolean }>();
  private readonly longLived: Set<string>;
  private readonly port: number;
  private readonly host: string;
  /** scheme://host of the request being answered: links point where the caller reached us. */
  private origin = '';

  constructor(options: EmulatorOptions = {}) {
    this.options = {
      clientId: options.clientId ?? 'emulator-client-id',
      clientSecret: options.clientSecret ?? 'emulator-client-secret',
      redirectUri: options.redirectUri ?? 'http://localhost:8080/callback',
      longLivedTokens: options.longLivedTokens ?? [],
      accessTokenSeconds: options.accessTokenSeconds ?? 86_400,
      rateLimit: options.rateLimit ?? 7,
      blockAfterViolations: options.blockAfterViolations ?? 10,
      fieldPageSize: options.fieldPageSize ?? 50,
      latencyMs: options.latencyMs ?? 0,
      timeZone: options.timeZone ?? 'Europe/Moscow',
    };
    this.strict = { ...STRICT, ...options.strict };
    this.clock = options.clock ?? (() => Date.now());
    this.port = options.port ?? 0;
    this.host = options.host ?? '127.0.0.1';
    this.random = mulberry32(options.seed ?? 1);
    this.longLived = new Set(this.options.longLivedTokens);
    this.addSystemFields();
    this.deals = new LeadBook(
      ACCOUNT_ID,
      (id) => this.contacts.has(id),
      this.breaches,
      () => this.strict,
      () => Math.floor(this.clock() / 1000),
      options.systemStages,
    );
  }

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('the emulator is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.send(response, 500, problem(500, String(error)));
      });
    });
    this.server.keepAliveTimeout = 5_000;
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const entry of this.delayed) clearTimeout(entry.timer);
    this.delayed.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  // ── test controls ──────────────────────────────────────────────────────────────────────────
  /**
   * The next `method` API request is answered `status` (5xx, 4xx); `applied`: after the write
   * was carried out (the answer is lost), else without processing it. With `applyAfterMs`, the
   * next create (POST contacts or leads) is applied only that long after it arrived, then
   * answered — or, with `drop`, its connection is dropped at once and it is applied later all the
   * same; `path` narrows it to contacts or leads. `applyDelayedNow` applies such writes early (a
   * test's manual release).
   */
  scriptFault(fault: ScriptedFault): void {
    if ('applyAfterMs' in fault)
      this.scripted.push({
        method: 'POST',
        status: 0,
        applied: true,
        applyAfterMs: fault.applyAfterMs,
        drop: fault.drop ?? false,
        path: fault.path,
      });
    else
      this.scripted.push({
        method: fault.method.toUpperCase(),
        status: fault.status,
        applied: fault.applied ?? false,
      });
  }

  /** Creates received and not applied yet (delayed apply). */
  get delayedWrites(): number {
    return this.delayed.size;
  }

  /** Applies every create still waiting for its delay now; returns how many. */
  applyDelayedNow(): number {
    const waiting = [...this.delayed];
    for (const entry of waiting) {
      clearTimeout(entry.timer);
      entry.apply();
    }
    return waiting.length;
  }

  setFaults(faults: Partial<Faults>): void {
    this.faults = { ...NO_FAULTS, ...faults };
  }

  reseed(seed: number): void {
    this.random = mulberry32(seed);
  }

  /** A fresh authorization code, as amoCRM shows on the integration's page (valid 20 minutes). */
  issueCode(ttlSeconds = 20 * 60): string {
    const code = `def${randomBytes(24).toString('hex')}`;
    this.codes.set(code, { expiresAt: this.clock() + ttlSeconds * 1000, used: false });
    return code;
  }

  expireAccessTokens(): void {
    for (const token of this.accessTokens.keys()) this.accessTokens.set(token, 0);
  }

  revokeLongLivedTokens(): void {
    this.longLived.clear();
  }

  addLongLivedToken(token: string): void {
    this.longLived.add(token);
  }

  /** Refreshes with the given token as another process would: it is revoked, a new pair issued. */
  rotateRefreshToken(refreshToken: string): { access_token: string; refresh_token: string } {
    const entry = this.refreshTokens.get(refreshToken);
    if (!entry || entry.used) throw new Error('unknown or used refresh token');
    entry.used = true;
    return this.issuePair();
  }

  unblock(): void {
    this.blocked = false;
    this.violations = 0;
  }

  /** Adds a custom field of contacts (or, with `entity`, of deals), as amoCRM's settings page would. */
  addField(
    field: Omit<EmulatedField, 'id' | 'sort' | 'is_api_only' | 'code' | 'enums'> & Partial<EmulatedField>,
    entity: FieldEntity = 'contacts',
  ) {
    const created: EmulatedField = {
      id: field.id ?? this.nextFieldId++,
      name: field.name,
      code: field.code ?? null,
      type: field.type,
      sort: field.sort ?? 500,
      is_api_only: field.is_api_only ?? false,
      enums: field.enums ?? null,
    };
    this.catalogue(entity).set(created.id, created);
    return created;
  }

  private catalogue(entity: FieldEntity): Map<number, EmulatedField> {
    return entity === 'leads' ? this.deals.fields : this.fields;
  }

  /** Adds a contact directly, as if a manager had typed it into amoCRM. */
  seedContact(body: Record<string, unknown>): StoredContact {
    const errors = this.validateContact(body, 'create');
    if (errors.length > 0) throw new Error(`invalid seed contact: ${JSON.stringify(errors)}`);
    const contact = this.createContact(body);
    this.byHand.set(contact.id, multitextValues(contact));
    return contact;
  }

  /** A manager deletes a contact in the interface. */
  deleteContact(id: number): boolean {
    this.writtenAt.delete(id);
    this.byHand.delete(id);
    return this.contacts.delete(id);
  }

  /**
   * A manager merges two contacts: `keep` survives with its own values, plus the phones and
   * e-mails of `gone` it lacked; `gone` is deleted.
   */
  mergeContacts(keep: number, gone: number): void {
    const survivor = this.contacts.get(keep);
    const other = this.contacts.get(gone);
    if (!survivor || !other) throw new Error('both contacts must exist');
    const fields = new Map((survivor.custom_fields_values ?? []).map((field) => [field.field_id, field]));
    for (const field of other.custom_fields_values ?? []) {
      const mine = fields.get(field.field_id);
      if (!mine) fields.set(field.field_id, field);
      else if (field.field_type === 'multitext') {
        const known = new Set(mine.values.map((value) => String(value.value)));
        mine.values.push(...field.values.filter((value) => !known.has(String(value.value))));
      }
    }
    survivor.custom_fields_values = [...fields.values()];
    this.byHand.set(keep, new Set([...(this.byHand.get(keep) ?? []), ...(this.byHand.get(gone) ?? [])]));
    this.byHand.delete(gone);
    this.touch(survivor);
    this.deleteContact(gone);
  }

  /** A manager edits a contact in the interface: `apply` changes it, `updated_at` moves. */
  editContact(id: number, apply: (contact: StoredContact) => void): void {
    const contact = this.contacts.get(id);
    if (!contact) throw new Error(`no contact ${id}`);
    const before = multitextValues(contact);
    apply(contact);
    const typed = this.byHand.get(id) ?? new Set<string>();
    for (const value of multitextValues(contact)) if (!before.has(value)) typed.add(value);
    this.byHand.set(id, typed);
    this.touch(contact);
  }

  private touch(contact: StoredContact): void {
    contact.updated_at = Math.floor(this.clock() / 1000);
    this.writtenAt.set(contact.id, this.clock());
  }

  contactsWithField(fieldId: number, value: string): StoredContact[] {
    return [...this.contacts.values()].filter((contact) =>
      contact.custom_fields_values?.some(
        (field) => field.field_id === fieldId && field.values.some((item) => String(item.value) === value),
      ),
    );
  }

  writeRequests(): LoggedRequest[] {
    return this.requests.filter((request) => request.write);
  }

  // ── HTTP ───────────────────────────────────────────────────────────────────────────────────
  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const arrived = this.clock();
    const url = new URL(request.url ?? '/', 'http://emulator');
    const method = request.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    // Counted as amoCRM counts: at arrival (before the body is read, so in the order requests
    // came), in a sliding second on a clock no wall-clock step moves.
    const counted = !path.startsWith('/__emulator') && !(path === '/' && method === 'GET');
    const withinRate = counted ? this.admitByRate(performance.now()) : true;
    const body = await readBody(request);

    if (path.startsWith('/__emulator')) return this.handleAdmin(method, path, body, response, url);
    if (path === '/' && method === 'GET') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(contactsPage(this.contacts.values(), this.contacts.size, this.options.timeZone));
      return;
    }

    const now = arrived;
    const write = method === 'POST' || method === 'PATCH';
    const log: LoggedRequest = {
      at: now,
      method,
      path,
      status: 0,
      write,
      items: countItems(body),
      query: url.search,
    };
    this.requests.push(log);
    const respond = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      this.send(response, status, payload, headers);
    };

    if (this.blocked) {
      log.status = 403;
      response.writeHead(403, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        '<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>',
      );
      return;
    }
    if (!withinRate) {
      this.violations += 1;
      if (this.violations >= this.options.blockAfterViolations) this.blocked = true;
      return respond(429, problem(429, 'Too Many Requests', { title: 'Too Many Requests' }));
    }

    if (path === '/oauth') return this.consent(url, response, log);
    if (path === '/oauth2/access_token' && method === 'POST') {
      try {
        return respond(200, this.tokenGrant(body));
      } catch (error) {
        if (error instanceof HttpError) return respond(error.status, error.body);
        throw error;
      }
    }

    if (this.strict.paymentRequired) {
      return respond(402, {
        title: 'Payment Required',
        type: 'https://httpstatus.es/402',
        status: 402,
        detail: 'Account is not paid',
      });
    }
    if (this.strict.forbidden === 'ip' && path.startsWith('/api/')) {
      // The shape amoCRM's older API used for its auth errors (code 113); [assume] for v4.
      return respond(403, {
        response: {
          error: 'Доступ к данному аккаунту запрещён с Вашего IP адреса',
          error_code: '113',
          ip: request.socket.remoteAddress ?? '',
          domain: 'emulator.amocrm.ru',
          server_time: Math.floor(now / 1000),
        },
      });
    }
    if (
      this.strict.forbidden === 'rights' &&
      write &&
      /^\/api\/v4\/(leads\/pipelines|(contacts|leads)\/custom_fields)/.test(path)
    )
      return respond(403, problem(403, 'Access denied'));
    const scripted = this.scripted.findIndex(
      (entry) =>
        entry.method === method &&
        (entry.applyAfterMs === undefined
          ? path.startsWith('/api/')
          : CREATE_PATHS.has(path) && (entry.path === undefined || entry.path === path)),
    );
    const script = scripted >= 0 ? this.scripted.splice(scripted, 1)[0] : undefined;
    if (script && !script.applied) {
      log.fault = `scripted ${script.status}`;
      return respond(script.status, problem(script.status, 'Scripted failure'));
    }
    if (script?.applyAfterMs !== undefined)
      return this.applyLater(
        request,
        response,
        log,
        { method, path, url, body },
        { applyAfterMs: script.applyAfterMs, drop: script.drop },
      );
    const fault = script ? 'applied 5xx' : this.pickFault(write, method === 'POST' && CREATE_PATHS.has(path));
    if (fault === 'delayed apply') {
      const ms = Math.round(this.faults.delayedApplyMs * (0.4 + 0.6 * this.random()));
      return this.applyLater(request, response, log, { method, path, url, body }, { applyAfterMs: ms });
    }
    if (fault) log.fault = fault;
    if (fault === 'drop') {
      log.status = -1;
      request.socket.destroy();
      return;
    }
    if (fault === '5xx')
      return respond([500, 502, 503][Math.floor(this.random() * 3)]!, problem(503, 'Service unavailable'));
    if (fault === '429') {
      const headers: Record<string, string> =
        this.faults.retryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(this.faults.retryAfterSeconds) };
      return respond(429, problem(429, 'Too Many Requests'), headers);
    }

    let status: number;
    let payload: unknown;
    try {
      this.authorize(request);
      this.origin = request.headers.host ? `http://${request.headers.host}` : this.baseUrl;
      [status, payload] = this.route(method, path, url, body);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      status = error.status;
      payload = error.body;
    }
    const delay = (fault === 'slow' ? this.faults.slowMs : 0) + this.options.latencyMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (response.destroyed || request.socket.destroyed) {
      log.status = -2;
      return;
    }
    // The write above was applied; the answer is lost in an error.
    if (fault === 'applied 5xx' && status < 300) {
      const failure = script?.status ?? [500, 502, 503][Math.floor(this.random() * 3)]!;
      return respond(failure, problem(failure, 'Service unavailable'));
    }
    respond(status, payload);
  }

  /**
   * A create applied `applyAfterMs` after it arrived, whatever became of its connection, then
   * answered if the client still waits; with `drop`, the connection is dropped at once.
   */
  private async applyLater(
    request: IncomingMessage,
    response: ServerResponse,
    log: LoggedRequest,
    call: { method: string; path: string; url: URL; body: unknown },
    delay: { applyAfterMs: number; drop?: boolean },
  ): Promise<void> {
    log.fault = `applied after ${delay.applyAfterMs} ms${delay.drop ? ', connection dropped' : ''}`;
    try {
      this.authorize(request);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      log.status = error.status;
      return this.send(response, error.status, error.body);
    }
    const origin = request.headers.host ? `http://${request.headers.host}` : this.baseUrl;
    if (delay.drop) {
      log.status = -1;
      request.socket.destroy();
    }
    const [status, payload] = await new Promise<[number, unknown]>((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.apply(), delay.applyAfterMs),
        apply: () => {
          this.delayed.delete(entry);
          this.origin = origin;
          try {
            resolve(this.route(call.method, call.path, call.url, call.body));
          } catch (error) {
            if (!(error instanceof HttpError)) throw error;
            resolve([error.status, error.body]);
          }
        },
      };
      this.delayed.add(entry);
    });
    if (delay.drop) return;
    if (response.destroyed || request.socket.destroyed) {
      log.status = -2;
      return;
    }
    log.status = status;
    this.send(response, status, payload);
  }

  private admitByRate(now: number): boolean {
    this.recent.push(now);
    while (this.recent.length > 0 && this.recent[0]! <= now - 1000) this.recent.shift();
    this.maxRequestsInAnySecond = Math.max(this.maxRequestsInAnySecond, this.recent.length);
    return this.recent.length <= this.options.rateLimit;
  }

  private pickFault(
    write: boolean,
    create: boolean,
  ): 'drop' | '5xx' | 'slow' | '429' | 'applied 5xx' | 'delayed apply' | undefined {
    const f = this.faults;
    const roll = this.random();
    if (create && f.delayedApplyRate > 0 && this.random() < f.delayedApplyRate) return 'delayed apply';
    if (write && f.appliedServerErrorRate > 0 && this.random() < f.appliedServerErrorRate)
      return 'applied 5xx';
    let edge = f.dropRate;
    if (roll < edge) return 'drop';
    edge += f.serverErrorRate;
    if (roll < edge) return '5xx';
    edge += f.tooManyRate;
    if (roll < edge) return '429';
    edge += f.slowRate;
    if (roll < edge) return 'slow';
    return undefined;
  }

  private send(
    response: ServerResponse,
    status: number,
    payload: unknown,
    headers: Record<string, string> = {},
  ) {
    if (response.headersSent || response.destroyed) return;
    // amoCRM's own clock in the Date header (Node would stamp the machine's); a switch skews it.
    headers = { date: new Date(this.clock() + this.strict.dateSkewMs).toUTCString(), ...headers };
    if (status === 204) {
      response.writeHead(204, headers);
      response.end();
      return;
    }
    const type = status >= 400 ? 'application/problem+json' : 'application/hal+json';
    response.writeHead(status, { 'content-type': type, ...headers });
    response.end(JSON.stringify(payload));
  }

  private authorize(request: IncomingMessage): void {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    if (token && this.longLived.has(token)) return;
    const expiresAt = token ? this.accessTokens.get(token) : undefined;
    if (expiresAt === undefined || expiresAt <= this.clock()) {
      throw new HttpError(401, problem(401, expiresAt === undefined ? 'Invalid token' : 'Token has expired'));
    }
  }

  private consent(url: URL, response: ServerResponse, log: LoggedRequest): void {
    const clientId = url.searchParams.get('client_id');
    if (clientId !== this.options.clientId) {
      log.status = 400;
      this.send(response, 400, problem(400, 'unknown client_id'));
      return;
    }
    const target = new URL(url.searchParams.get('redirect_uri') ?? this.options.redirectUri);
    target.searchParams.set('code', this.issueCode());
    target.searchParams.set('referer', new URL(this.baseUrl).host);
    target.searchParams.set('client_id', clientId);
    const state = url.searchParams.get('state');
    if (state) target.searchParams.set('state', state);
    log.status = 302;
    response.writeHead(302, { location: target.toString() });
    response.end();
  }

  private tokenGrant(body: unknown): unknown {
    const grant = (body ?? {}) as Record<string, unknown>;
    if (grant.client_id !== this.options.clientId || grant.client_secret !== this.options.clientSecret) {
      throw new HttpError(401, oauthProblem(401, 'Client authentication failed', 'Некорректный клиент'));
    }
    if (grant.redirect_uri !== this.options.redirectUri) {
      throw new HttpError(400, oauthProblem(400, 'Cannot verify redirect_uri'));
    }
    if (grant.grant_type === 'authorization_code') {
      this.tokenCalls.authorization_code += 1;
      const code = this.codes.get(String(grant.code));
      if (!code || code.used)
        throw new HttpError(400, oauthProblem(400, 'Authorization code has been revoked'));
      if (code.expiresAt <= this.clock())
        throw new HttpError(400, oauthProblem(400, 'Authorization code has expired'));
      code.used = true;
      return this.issuePair();
    }
    if (grant.grant_type === 'refresh_token') {
      this.tokenCalls.refresh_token += 1;
      const entry = this.refreshTokens.get(String(grant.refresh_token));
      if (!entry || entry.used) throw new HttpError(401, oauthProblem(401, 'Token has been revoked'));
      if (entry.expiresAt <= this.clock()) throw new HttpError(401, oauthProblem(401, 'Token has expired'));
      entry.used = true;
      return this.issuePair();
    }
    throw new HttpError(400, oauthProblem(400, 'Unsupported grant type'));
  }

  private issuePair() {
    const access = `acc_${randomBytes(24).toString('hex')}`;
    const refresh = `ref_${randomBytes(24).toString('hex')}`;
    this.accessTokens.set(access, this.clock() + this.options.accessTokenSeconds * 1000);
    this.refreshTokens.set(refresh, { expiresAt: this.clock() + 90 * 86_400_000, used: false });
    return {
      token_type: 'Bearer',
      expires_in: this.options.accessTokenSeconds,
      access_token: access,
      refresh_token: refresh,
      server_time: Math.floor(this.clock() / 1000),
    };
  }

  private route(method: string, path: string, url: URL, body: unknown): [number, unknown] {
    if (path === '/api/v4/account' && method === 'GET') {
      const account: Record<string, unknown> = {
        id: ACCOUNT_ID,
        name: 'Emulated clinic',
        subdomain: 'emulator',
        country: 'RU',
        currency: 'RUB',
        is_api_filter_enabled: this.strict.honourIdFilter,
      };
      if ((url.searchParams.get('with') ?? '').split(',').includes('datetime_settings')) {
        account._embedded = {
          datetime_settings: {
            date_pattern: 'd.m.Y H:i',
            short_date_pattern: 'd.m.Y',
            short_time_pattern: 'H:i',
            date_format: 'd.m.Y',
            time_format: 'H:i:s',
            timezone: this.options.timeZone,
            timezone_offset: '',
          },
        };
      }
      return [200, account];
    }
    const fieldsMatch = /^\/api\/v4\/(contacts|leads)\/custom_fields$/.exec(path);
    if (fieldsMatch) {
      const entity = fieldsMatch[1] as FieldEntity;
      if (method === 'GET') return this.listFields(url, entity);
      if (method === 'POST') return this.createFields(body, entity);
      if (method === 'PATCH') return this.patchFields(body, entity);
    }
    const fieldMatch = /^\/api\/v4\/(contacts|leads)\/custom_fields\/(\d+)$/.exec(path);
    if (fieldMatch && method === 'PATCH') {
      return this.patchFields(
        [{ ...(body as object), id: Number(fieldMatch[2]) }],
        fieldMatch[1] as FieldEntity,
      );
    }
    if (path === '/api/v4/leads/pipelines') {
      if (method === 'GET') return this.deals.listPipelines(this.origin);
      if (method === 'POST') return this.deals.createPipelines(body, this.origin);
    }
    const statusesMatch = /^\/api\/v4\/leads\/pipelines\/(\d+)\/statuses$/.exec(path);
    if (statusesMatch && method === 'POST')
      return this.deals.addStatuses(Number(statusesMatch[1]), body, this.origin);
    if ((path === '/api/v4/leads' || path === '/api/v4/contacts') && method !== 'GET')
      this.noteNumericForms(body, path === '/api/v4/leads' ? 'leads' : 'contacts');
    if ((path === '/api/v4/leads' || path === '/api/v4/contacts') && method === 'GET')
      this.onList?.(path === '/api/v4/leads' ? 'leads' : 'contacts', url);
    if (path === '/api/v4/leads') {
      if (method === 'GET') return this.deals.list(url, this.origin);
      if (method === 'POST') return this.deals.write(body, 'create', this.origin);
      if (method === 'PATCH') return this.deals.write(body, 'update', this.origin);
    }
    const linkMatch = /^\/api\/v4\/leads\/(?:(\d+)\/)?(link|unlink)$/.exec(path);
    if (linkMatch && method === 'POST')
      return this.deals.links(
        linkMatch[1] === undefined ? undefined : Number(linkMatch[1]),
        body,
        linkMatch[2] as 'link' | 'unlink',
        this.origin,
      );
    const leadMatch = /^\/api\/v4\/leads\/(\d+)$/.exec(path);
    if (leadMatch) {
      const id = Number(leadMatch[1]);
      if (method === 'GET') return this.deals.getOne(id, url, this.origin);
      if (method === 'PATCH') {
        const [status, result] = this.deals.write([{ ...(body as object), id }], 'update', this.origin);
        return [status, (result as { _embedded: { leads: unknown[] } })._embedded.leads[0]];
      }
    }
    if (path === '/api/v4/contacts') {
      if (method === 'GET') return this.listContacts(url);
      if (method === 'POST') return this.writeContacts(body, 'create');
      if (method === 'PATCH') return this.writeContacts(body, 'update');
    }
    const contactMatch = /^\/api\/v4\/contacts\/(\d+)$/.exec(path);
    if (contactMatch) {
      const id = Number(contactMatch[1]);
      if (method === 'GET') {
        const contact = this.contacts.get(id);
        return contact ? [200, this.present(contact)] : [204, undefined];
      }
      if (method === 'PATCH') {
        const [status, result] = this.writeContacts([{ ...(body as object), id }], 'update');
        if (status !== 200) return [status, result];
        return [200, (result as { _embedded: { contacts: unknown[] } })._embedded.contacts[0]];
      }
    }
    throw new HttpError(404, problem(404, `no route ${method} ${path}`));
  }

  // ── contacts ───────────────────────────────────────────────────────────────────────────────
  private listContacts(url: URL): [number, unknown] {
    const query = url.searchParams.get('query')?.trim().toLowerCase();
    const ids = idsFilter(url);
    let matches: StoredContact[];
    if (ids.length > 0 && this.strict.honourIdFilter) {
      matches = ids.map((id) => this.contacts.get(id)).filter((c): c is StoredContact => c !== undefined);
    } else if (query) {
      const visibleBefore = this.clock() - this.strict.searchLagMs;
      matches = [...this.contacts.values()].filter(
        (contact) =>
          (this.writtenAt.get(contact.id) ?? 0) <= visibleBefore &&
          searchText(contact, this.strict.searchAsStored).includes(query),
      );
    } else {
      matches = [...this.contacts.values()];
    }
    return listPage(url, matches, {
      kind: 'contacts',
      honourOrder: this.strict.honourOrder,
      origin: this.origin,
      present: (contact) => this.present(contact),
    });
  }

  private present(contact: StoredContact): StoredContact & { _links: unknown } {
    return { ...contact, _links: { self: { href: `${this.origin}/api/v4/contacts/${contact.id}` } } };
  }

  private writeContacts(body: unknown, mode: 'create' | 'update'): [number, unknown] {
    if (!Array.isArray(body)) throw new HttpError(400, problem(400, 'Request body must be an array'));
    if (body.length > this.strict.maxBatch) {
      this.breaches.push(`${body.length} entities in one request`);
      throw new HttpError(
        400,
        problem(400, `Too many entities in one request (max ${this.strict.maxBatch})`),
      );
    }
    if (mode === 'update') this.noteNullMultitext(body);
    const failures: { request_id: string; errors: ValidationError[] }[] = [];
    let deleted = false;
    body.forEach((item: unknown, index) => {
      const requestId = requestIdOf(item, index);
      const errors = this.validateContact(item, mode);
      if (errors.some((error) => error.code === 'NotFound')) deleted = true;
      if (errors.length > 0) failures.push({ request_id: requestId, errors });
    });
    if (deleted && this.strict.deletedContactPatch === 'not-found') {
      throw new HttpError(404, problem(404, 'Entity not found'));
    }
    if (deleted && this.strict.deletedContactPatch === 'bad-request') {
      throw new HttpError(400, problem(400, 'Request validation failed'));
    }
    // One bad item fails the whole request; nothing of it is stored, unless the switch says otherwise.
    if (failures.length > 0) {
      if (mode === 'create' && this.strict.createStoresValidItemsOn400) {
        const refused = new Set(failures.map((failure) => failure.request_id));
        body.forEach((item: Record<string, unknown>, index) => {
          if (!refused.has(requestIdOf(item, index))) this.createContact(item);
        });
      }
      throw validationFailure(failures);
    }
    const results = body.map((item: Record<string, unknown>, index) => {
      const contact = mode === 'create' ? this.createContact(item) : this.updateContact(item);
      return {
        id: contact.id,
        ...(mode === 'update' && this.strict.patchAnswersWithoutRequestId
          ? {}
          : { request_id: requestIdOf(item, index) }),
        updated_at: contact.updated_at,
        _links: { self: { href: `${this.origin}/api/v4/contacts/${contact.id}` } },
      };
    });
    return [
      200,
      { _links: { self: { href: `${this.origin}/api/v4/contacts` } }, _embedded: { contacts: results } },
    ];
  }

  private noteNumericForms(body: unknown, entity: FieldEntity): void {
    if (!Array.isArray(body)) return;
    const fields = this.catalogue(entity);
    for (const item of body as { custom_fields_values?: unknown }[]) {
      if (!Array.isArray(item?.custom_fields_values)) continue;
      for (const entry of item.custom_fields_values as { field_id?: number; values?: unknown }[]) {
        if (entry.field_id === undefined || fields.get(entry.field_id)?.type !== 'numeric') continue;
        for (const value of Array.isArray(entry.values) ? (entry.values as { value?: unknown }[]) : []) {
          if (typeof value.value === 'string') this.numericSent.strings += 1;
          else if (typeof value.value === 'number') this.numericSent.numbers += 1;
        }
      }
    }
  }

  /**
   * A PHONE or EMAIL cleared (`values: null` or `[]`) while the contact holds a value a manager
   * typed: their numbers are erased, a client breach. Clearing values only the API wrote is fine.
   */
  private noteNullMultitext(body: unknown[]): void {
    for (const item of body) {
      const { id, custom_fields_values: values } = item as { id?: unknown; custom_fields_values?: unknown };
      if (!Array.isArray(values) || typeof id !== 'number') continue;
      const contact = this.contacts.get(id);
      const typed = this.byHand.get(id);
      if (!contact || !typed) continue;
      for (const entry of values as { field_id?: number; field_code?: string; values?: unknown }[]) {
        const field =
          entry.field_code ??
          (entry.field_id === undefined ? undefined : this.fields.get(entry.field_id)?.code);
        if (field !== 'PHONE' && field !== 'EMAIL') continue;
        if (!(entry.values === null || (Array.isArray(entry.values) && entry.values.length === 0))) continue;
        const held = (contact.custom_fields_values ?? []).find((stored) => stored.field_code === field);
        if (held?.values.some((value) => typed.has(String(value.value))))
          this.breaches.push(`${field} sent as ${JSON.stringify(entry.values)}, erasing a manager's value`);
      }
    }
  }

  private validateContact(raw: unknown, mode: 'create' | 'update'): ValidationError[] {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      return [{ code: 'InvalidType', path: '', detail: 'This value should be of type object.' }];
    }
    const item = raw as Record<string, unknown>;
    const errors: ValidationError[] = [];
    if (this.strict.refuseUnknownKeys) {
      for (const key of Object.keys(item)) {
        if (!CONTACT_KEYS.has(key))
          errors.push({ code: 'FieldNotExpected', path: key, detail: 'This field was not expected.' });
      }
    }
    if (mode === 'update') {
      if (typeof item.id !== 'number')
        errors.push({ code: 'FieldMissing', path: 'id', detail: 'This field is missing.' });
      else if (!this.contacts.has(item.id))
        errors.push({ code: 'NotFound', path: 'id', detail: 'Entity not found.' });
    }
    for (const key of ['name', 'first_name', 'last_name'] as const) {
      if (item[key] !== undefined && typeof item[key] !== 'string') {
        errors.push({ code: 'InvalidType', path: key, detail: 'This value should be of type string.' });
      }
    }
    const byCode = new Map([...this.fields.values()].filter((f) => f.code).map((f) => [f.code!, f]));
    const fieldErrors = validateCustomFieldValues(item.custom_fields_values, this.fields, byCode, {
      refuseNegativeDates: this.strict.refuseNegativeDates,
      multitextClear: this.strict.multitextClear,
    });
    for (const error of fieldErrors)
      if (error.detail === NEGATIVE_DATE) this.breaches.push(`negative date at ${error.path}`);
    errors.push(...fieldErrors);
    return errors;
  }

  private createContact(item: Record<string, unknown>): StoredContact {
    const now = Math.floor(this.clock() / 1000);
    const contact: StoredContact = {
      id: this.nextContactId++,
      name: String(item.name ?? ''),
      first_name: String(item.first_name ?? ''),
      last_name: String(item.last_name ?? ''),
      responsible_user_id: 1,
      created_at: now,
      updated_at: now,
      account_id: ACCOUNT_ID,
      custom_fields_values: null,
      _embedded: { tags: [] },
    };
    applyFieldValues(contact, item.custom_fields_values, this.fields, this.strict.uncheckedCheckboxAbsent);
    this.contacts.set(contact.id, contact);
    this.writtenAt.set(contact.id, this.clock());
    return contact;
  }

  private updateContact(item: Record<string, unknown>): StoredContact {
    const contact = this.contacts.get(item.id as number)!;
    for (const key of ['name', 'first_name', 'last_name'] as const) {
      if (typeof item[key] === 'string') contact[key] = item[key];
    }
    applyFieldValues(contact, item.custom_fields_values, this.fields, this.strict.uncheckedCheckboxAbsent);
    this.touch(contact);
    return contact;
  }

  // ── custom fields ──────────────────────────────────────────────────────────────────────────
  private listFields(url: URL, entity: FieldEntity): [number, unknown] {
    const limit = Math.min(
      this.options.fieldPageSize,
      Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50),
    );
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const all = [...this.catalogue(entity).values()];
    const slice = all.slice((page - 1) * limit, page * limit);
    if (slice.length === 0) return [204, undefined];
    const at = (p: number) => ({
      href: `${this.origin}/api/v4/${entity}/custom_fields?page=${p}&limit=${limit}`,
    });
    const links: Record<string, { href: string }> = { self: at(page) };
    if (page * limit < all.length) links.next = at(page + 1);
    return [
      200,
      { _total_items: all.length, _page: page, _links: links, _embedded: { custom_fields: slice } },
    ];
  }

  private createFields(body: unknown, entity: FieldEntity): [number, unknown] {
    if (!Array.isArray(body)) throw new HttpError(400, problem(400, 'Request body must be an array'));
    const failures: { request_id: string; errors: ValidationError[] }[] = [];
    body.forEach((item: Record<string, unknown>, index) => {
      const errors: ValidationError[] = [];
      if (typeof item.name !== 'string' || item.name.trim() === '') {
        errors.push({ code: 'FieldMissing', path: 'name', detail: 'This value should not be blank.' });
      }
      if (typeof item.type !== 'string' || !FIELD_TYPES.has(item.type)) {
        errors.push({
          code: 'NotSupportedChoice',
          path: 'type',
          detail: 'The value you selected is not a valid choice.',
        });
      }
      if (
        ['select', 'multiselect', 'radiobutton'].includes(String(item.type)) &&
        !Array.isArray(item.enums)
      ) {
        errors.push({ code: 'FieldMissing', path: 'enums', detail: 'This field is missing.' });
      }
      if (errors.length > 0) failures.push({ request_id: requestIdOf(item, index), errors });
    });
    if (failures.length > 0) {
      throw validationFailure(failures);
    }
    const created = body.map((item: Record<string, unknown>) =>
      this.addField(
        {
          name: String(item.name),
          type: String(item.type),
          code: typeof item.code === 'string' ? item.code : null,
          sort: typeof item.sort === 'number' ? item.sort : 500,
          is_api_only: item.is_api_only === true,
          enums: Array.isArray(item.enums)
            ? (item.enums as { value: string; sort?: number }[]).map((e, i) => ({
                id: this.nextEnumId++,
                value: e.value,
                sort: e.sort ?? (i + 1) * 10,
              }))
            : null,
        },
        entity,
      ),
    );
    return [200, { _embedded: { custom_fields: created } }];
  }

  /** Updating a field's enums replaces the list: values sent with an id are kept, new ones added. */
  private patchFields(body: unknown, entity: FieldEntity): [number, unknown] {
    if (!Array.isArray(body)) throw new HttpError(400, problem(400, 'Request body must be an array'));
    const updated = body.map(
      (item: { id?: number; name?: string; enums?: { id?: number; value: string; sort?: number }[] }) => {
        const field = item.id === undefined ? undefined : this.catalogue(entity).get(item.id);
        if (!field) throw new HttpError(400, problem(400, `custom field ${item.id} not found`));
        // amoCRM's own library always sends the field's type on update (CustomFieldModel::toApi).
        if ((item as { type?: unknown }).type !== field.type)
          throw validationFailure([
            {
              request_id: '0',
              errors: [{ code: 'FieldMissing', path: 'type', detail: 'This field is missing.' }],
            },
          ]);
        if (typeof item.name === 'string') field.name = item.name;
        if (Array.isArray(item.enums)) {
          field.enums = item.enums.map((e, i) => ({
            id: e.id ?? this.nextEnumId++,
            value: e.value,
            sort: e.sort ?? (i + 1) * 10,
          }));
        }
        return field;
      },
    );
    return [200, { _embedded: { custom_fields: updated } }];
  }

  private addSystemFields(): void {
    const enums = (values: string[]) =>
      values.map((value, i) => ({ id: this.nextEnumId++, value, sort: (i + 1) * 2 }));
    this.addField({ name: 'Должность', code: 'POSITION', type: 'text', sort: 1 });
    this.addField({
      name: 'Телефон',
      code: 'PHONE',
      type: 'multitext',
      sort: 4,
      enums: enums(['WORK', 'WORKDD', 'MOB', 'FAX', 'HOME', 'OTHER']),
    });
    this.addField({
      name: 'Email',
      code: 'EMAIL',
      type: 'multitext',
      sort: 6,
      enums: enums(['WORK', 'PRIV', 'OTHER']),
    });
  }

  // ── admin API for tools in other processes (bench, chaos, demo) ────────────────────────────
  private handleAdmin(method: string, path: string, body: unknown, response: ServerResponse, url: URL): void {
    const ok = (payload: unknown) => this.send(response, 200, payload);
    const args = (body ?? {}) as Record<string, unknown>;
    switch (`${method} ${path}`) {
      case 'GET /__emulator/state':
        return ok({
          contacts: this.contacts.size,
          leads: this.deals.leads.size,
          fields: this.fields.size,
          requests: this.requests.length,
          writeRequests: this.writeRequests().length,
          requests429: this.requests.filter((r) => r.status === 429).length,
          maxRequestsInAnySecond: this.maxRequestsInAnySecond,
          violations: this.violations,
          blocked: this.blocked,
          tokenCalls: this.tokenCalls,
          breaches: this.breaches,
        });
      case 'GET /__emulator/contacts':
        return ok([...this.contacts.values()]);
      case 'GET /__emulator/leads':
        if (url.searchParams.get('format') === 'json') return ok([...this.deals.leads.values()]);
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(
          leadsPage(
            this.deals.leads.values(),
            this.deals.leads.size,
            this.deals.pipelines,
            this.options.timeZone,
          ),
        );
        return;
      case 'GET /__emulator/deal-index': {
        // One line per deal carrying the field, "value pipeline stage", in the value's numeric
        // order: a checker can walk it beside the receptions (by id) without holding 100 000 deals.
        const fieldId = Number(url.searchParams.get('fieldId'));
        const rows: [number, string][] = [];
        for (const lead of this.deals.leads.values()) {
          const value = lead.custom_fields_values?.find((field) => field.field_id === fieldId)?.values[0]
            ?.value;
          if (value !== undefined)
            rows.push([Number(value), `${String(value)} ${lead.pipeline_id} ${lead.status_id}`]);
        }
        rows.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(rows.map((row) => row[1]).join('\n'));
        return;
      }
      case 'GET /__emulator/pipelines':
        return ok([...this.deals.pipelines.values()]);
      case 'POST /__emulator/lead':
        return ok(
          this.deals.seed({
            name: String(args.name ?? 'Сделка'),
            contactId: typeof args.contactId === 'number' ? args.contactId : undefined,
            pipelineId: typeof args.pipelineId === 'number' ? args.pipelineId : undefined,
            statusId: typeof args.statusId === 'number' ? args.statusId : undefined,
          }),
        );
      case 'POST /__emulator/move-lead':
        return ok(
          this.deals.move(
            Number(args.id),
            Number(args.statusId),
            typeof args.pipelineId === 'number' ? args.pipelineId : undefined,
          ),
        );
      case 'POST /__emulator/delete-lead':
        return ok({ deleted: this.deals.delete(Number(args.id)) });
      case 'GET /__emulator/requests':
        return ok(this.requests);
      case 'POST /__emulator/faults':
        this.setFaults(args as Partial<Faults>);
        return ok(this.faults);
      case 'POST /__emulator/script-fault':
        this.scriptFault(args as unknown as ScriptedFault);
        return ok({ scripted: this.scripted.length });
      case 'POST /__emulator/apply-delayed':
        return ok({ applied: this.applyDelayedNow() });
      case 'POST /__emulator/strict':
        this.strict = { ...STRICT, ...(args as Partial<Strictness>) };
        return ok(this.strict);
      case 'POST /__emulator/delete':
        return ok({ deleted: this.deleteContact(Number(args.id)) });
      case 'POST /__emulator/code':
        return ok({ code: this.issueCode() });
      case 'POST /__emulator/expire-tokens':
        this.expireAccessTokens();
        return ok({ expired: true });
      case 'POST /__emulator/long-lived-token': {
        const token = typeof args.token === 'string' ? args.token : `llt_${randomBytes(24).toString('hex')}`;
        this.addLongLivedToken(token);
        return ok({ token });
      }
      case 'POST /__emulator/reset-counters':
        this.requests.length = 0;
        this.maxRequestsInAnySecond = 0;
        return ok({ reset: true });
      default:
        return this.send(response, 404, problem(404, `no admin route ${method} ${path}`));
    }
  }
}

/** The PHONE and EMAIL values a contact holds, as typed. */
function multitextValues(contact: StoredContact): Set<string> {
  return new Set(
    (contact.custom_fields_values ?? [])
      .filter((field) => field.field_type === 'multitext')
      .flatMap((field) => field.values.map((value) => String(value.value))),
  );
}

function searchText(contact: StoredContact, asStored: boolean): string {
  const parts = [contact.name, contact.first_name, contact.last_name];
  for (const field of contact.custom_fields_values ?? []) {
    for (const value of field.values) {
      parts.push(String(value.value ?? ''));
      // A lenient search finds phones by their digits, however they were typed ("8 (917) 555-12-34").
      if (!asStored && field.field_code === 'PHONE') parts.push(String(value.value ?? '').replace(/\D/g, ''));
    }
  }
  return parts.join('\n').toLowerCase();
}

function countItems(body: unknown): number {
  return Array.isArray(body) ? body.length : body ? 1 : 0;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
