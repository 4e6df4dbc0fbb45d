import { AmoCrmError, AmoValidationError, type ValidationProblem } from './errors.ts';
import type { AmoHttp } from './http.ts';
import { type IdFilterMemory, memoryIdFilter } from './id-filter.ts';

export interface BatchItem<T> {
  requestId: string;
  body: T;
}

/** What became of one write request. Errors that must stop every call (403, 401 twice, 402) are thrown. */
export type WriteOutcome =
  /** Stored: request_id → entity id (creates); entity id → updated_at where amoCRM said. */
  | { kind: 'stored'; ids: Map<string, number>; updatedAt: Map<number, number> }
  /** A 400 with `validation-errors`: which items amoCRM refused, where and why. */
  | { kind: 'refused'; problems: readonly ValidationProblem[] }
  /** Another 4xx: amoCRM refused the request without saying which item (a deleted entity, say). */
  | { kind: 'rejected'; error: AmoCrmError }
  /** No usable answer to a create (timeout, dropped connection, 5xx): it may have landed. */
  | { kind: 'uncertain'; error: AmoCrmError };

/** What every amoCRM entity the sync reads has. */
export interface ListedEntity {
  id: number;
  updated_at?: number;
}

export type EntityKind = 'contacts' | 'leads';

interface EntityPage<T> {
  _links?: { next?: { href?: string } };
  _embedded?: Partial<Record<EntityKind, T[]>>;
}

interface WriteResponse {
  _embedded?: Partial<Record<EntityKind, { id: number; request_id?: string; updated_at?: number }[]>>;
}

export const PAGE_LIMIT = 250;
/**
 * At most this many ids in one URL (`filter[id][]=…`, about 3 KB): 250 made ~7.6 KB, near common
 * 8 KB limits, and amoCRM's own limit is undocumented (../shared/reference/amocrm-api.md, "Facts
 * added in the third review").
 */
export const MAX_IDS_PER_REQUEST = 100;
/** amoCRM's own library and others send at most 50 entities per write request. */
export const MAX_BATCH = 50;

/** amoCRM's clock when a listing began (Unix seconds, from its Date header), when it said. */
export interface ListingClock {
  serverTime?: number;
}

/** The listing came back in another order than asked: amoCRM ignored `order` on this account. */
export class UnorderedListingError extends Error {
  constructor(entity: EntityKind, field: string) {
    super(`amoCRM did not sort the ${entity === 'leads' ? 'deal' : 'contact'} list by ${field} as asked`);
    this.name = 'UnorderedListingError';
  }
}

/**
 * One kind of amoCRM entity (contacts, leads): one write request at a time, reads by id, and
 * listings in pages of 250. `readParams` go with every read (leads: `with=contacts`, without which
 * amoCRM does not say which contacts a deal is linked to).
 */
export class EntitiesApi<Entity extends ListedEntity, Create, Update extends { id: number }> {
  protected readonly http: AmoHttp;
  readonly kind: EntityKind;
  readonly batchSize: number;
  private readonly readParams: Record<string, string>;
  private readonly idFilter: IdFilterMemory;

  constructor(
    http: AmoHttp,
    kind: EntityKind,
    batchSize = MAX_BATCH,
    readParams: Record<string, string> = {},
    idFilter: IdFilterMemory = memoryIdFilter(),
  ) {
    if (batchSize > MAX_BATCH) throw new RangeError(`at most ${MAX_BATCH} ${kind} per request`);
    this.http = http;
    this.kind = kind;
    this.batchSize = batchSize;
    this.readParams = readParams;
    this.idFilter = idFilter;
  }

  private get path(): string {
    return `/api/v4/${this.kind}`;
  }

  /**
   * One request's worth (≤ batchSize). PATCH answers may carry no request_id (the official library
   * reads it only when present: amocrm-api-php EntitiesServices/Contacts::processAction), so updates
   * are matched by entity id; every item of a PATCH answered 200 was applied.
   */
  async write(method: 'post', items: readonly BatchItem<Create>[]): Promise<WriteOutcome>;
  async write(method: 'patch', items: readonly BatchItem<Update>[]): Promise<WriteOutcome>;
  async write(method: 'post' | 'patch', items: readonly BatchItem<Create | Update>[]): Promise<WriteOutcome> {
    if (items.length > this.batchSize)
      throw new RangeError(`at most ${this.batchSize} ${this.kind} per request`);
    const body = items.map((item) => ({ ...item.body, request_id: item.requestId }));
    try {
      const response =
        method === 'post'
          ? await this.http.post<WriteResponse>(this.path, body)
          : await this.http.patch<WriteResponse>(this.path, body);
      const ids = new Map<string, number>();
      const updatedAt = new Map<number, number>();
      for (const stored of response.data?._embedded?.[this.kind] ?? []) {
        if (stored.request_id !== undefined && stored.request_id !== null)
          ids.set(String(stored.request_id), stored.id);
        if (typeof stored.updated_at === 'number') updatedAt.set(stored.id, stored.updated_at);
      }
      if (method === 'patch') {
        for (const item of items) ids.set(item.requestId, (item.body as Update).id);
      }
      return { kind: 'stored', ids, updatedAt };
    } catch (error) {
      if (error instanceof AmoValidationError) return { kind: 'refused', problems: error.problems };
      if (error instanceof AmoCrmError && error.kind === 'uncertain') return { kind: 'uncertain', error };
      if (error instanceof AmoCrmError && error.kind === 'rejected') return { kind: 'rejected', error };
      throw error;
    }
  }

  /**
   * These entities as amoCRM holds them now (`filter[id][]`, ≤ 100 ids a request); one deleted or
   * merged away is simply not there. `filter[id]` is part of amoCRM's paid API filtering: where an
   * account lacks it the filter is ignored and the whole account is listed (amocrm-api-php #614,
   * #71; ../shared/reference/amocrm-api.md, "Facts added in the third review"). So the listing
   * stops at the first entity nobody asked for, the ids asked are read one by one
   * (`GET /{entity}/{id}`, 204 when missing), and the client remembers that the filter is off.
   * Ids a filtered list leaves out are read one by one too before they are called missing.
   */
  async getByIds(ids: readonly number[]): Promise<Entity[]> {
    const found: Entity[] = [];
    const unique = [...new Set(ids)];
    for (let start = 0; start < unique.length; start += MAX_IDS_PER_REQUEST) {
      const slice = unique.slice(start, start + MAX_IDS_PER_REQUEST);
      if (this.idFilter.ignored()) {
        found.push(...(await this.eachOnItsOwn(slice)));
        continue;
      }
      const wanted = new Set(slice);
      const listed: Entity[] = [];
      let foreign = false;
      for await (const entities of this.pages({ 'filter[id]': slice.map(String) })) {
        for (const entity of entities) {
          if (wanted.has(entity.id)) listed.push(entity);
          else foreign = true;
        }
        // Leaving the loop ends the listing: no further page is asked for.
        if (foreign) break;
      }
      found.push(...listed);
      if (foreign) this.idFilter.noteIgnored();
      // A list may lag behind writes (amoCRM documents no bound): an id it left out is missing
      // only when its own address says so. One request per deleted id: a manager deleting 500
      // contacts at once costs the next deep sync about 70 s at 7 requests a second.
      const have = new Set(listed.map((entity) => entity.id));
      found.push(...(await this.eachOnItsOwn(slice.filter((id) => !have.has(id)))));
    }
    return found;
  }

  private async eachOnItsOwn(ids: readonly number[]): Promise<Entity[]> {
    const found: Entity[] = [];
    for (const id of ids) {
      const one = await this.getOne(id);
      if (one) found.push(one);
    }
    return found;
  }

  /** One entity, or undefined when amoCRM has none with this id (204 or 404). */
  async getOne(id: number): Promise<Entity | undefined> {
    try {
      const response = await this.http.get<Entity>(`${this.path}/${id}`, { ...this.readParams });
      return response.status === 204 || !response.data ? undefined : response.data;
    } catch (error) {
      if (error instanceof AmoCrmError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Entities newest first by `field` (`order[field]=desc`, which works without the account's API
   * filter feature), a page at a time, until `enough` says so. Throws UnorderedListingError when a
   * page is not in that order: amoCRM ignored the order, and "not listed" would then prove nothing.
   */
  async *newestFirst(
    field: 'id' | 'updated_at',
    enough: (page: Entity[]) => boolean,
    seen: ListingClock = {},
  ): AsyncGenerator<Entity[]> {
    let previous = Number.POSITIVE_INFINITY;
    for await (const page of this.pages({ [`order[${field}]`]: 'desc' }, seen)) {
      for (const entity of page) {
        const key = field === 'id' ? entity.id : (entity.updated_at ?? 0);
        if (key > previous) throw new UnorderedListingError(this.kind, field);
        previous = key;
      }
      yield page;
      if (enough(page)) return;
    }
  }

  /**
   * Every entity, by id ascending, in windows that overlap: immune to deletions during the
   * listing. With plain offset pages, an entity deleted from a page already read moves every later
   * one a place forward, and the first of the next page is never listed (issue 18, hole 9).
   * amoCRM pages by `page` and `limit` only (no cursor every account honours: filters may be
   * ignored), so each window is a `limit` (≤ 250) and `page` whose offset starts 1–25 entities
   * before the end of what was read. A window that holds the last entity read (or one before it)
   * continues the listing without a gap; one that does not shows that something before it was
   * deleted, and windows further back are read until one does. Creations get the highest ids and
   * land at the end, so they shift nothing. Each entity is yielded once.
   */
  async *everyEntity(): AsyncGenerator<Entity[]> {
    const seen = new Set<number>();
    let frontier: number | undefined;
    let end = 0;
    for (;;) {
      const window = end === 0 ? { limit: PAGE_LIMIT, page: 1, start: 0 } : nextWindow(end);
      const answer = await this.window({ 'order[id]': 'asc' }, window.limit, window.page);
      const fresh = answer.entities.filter((entity) => !seen.has(entity.id));
      for (const entity of fresh) seen.add(entity.id);
      if (fresh.length > 0) yield fresh;
      if (answer.entities.length < window.limit && answer.more) {
        // amoCRM gave fewer than asked yet has more: its pages are not ours; follow its links.
        for await (const page of this.pages({ 'order[id]': 'asc' })) {
          const rest = page.filter((entity) => !seen.has(entity.id));
          for (const entity of rest) seen.add(entity.id);
          if (rest.length > 0) yield rest;
        }
        return;
      }
      const first = answer.entities[0];
      const covers =
        window.start === 0 ||
        (frontier !== undefined &&
          first !== undefined &&
          (first.id <= frontier || answer.entities.some((entity) => entity.id === frontier)));
      if (!covers) {
        // Something before this window was deleted since the last one: look further back.
        end = Math.max(0, window.start - (PAGE_LIMIT - WINDOW_OVERLAP));
        continue;
      }
      if (answer.entities.length === 0) return;
      frontier = answer.entities.at(-1)!.id;
      end = window.start + answer.entities.length;
      if (answer.entities.length < window.limit) return;
    }
  }

  /** One list request at `page` of `limit`: its entities, and whether amoCRM links a next page. */
  private async window(
    params: Record<string, string>,
    limit: number,
    page: number,
  ): Promise<{ entities: Entity[]; more: boolean }> {
    const response = await this.http.get<EntityPage<Entity>>(this.path, {
      ...this.readParams,
      ...params,
      limit,
      page,
    });
    if (response.status === 204 || !response.data) return { entities: [], more: false };
    return {
      entities: response.data._embedded?.[this.kind] ?? [],
      more: Boolean(response.data._links?.next?.href),
    };
  }

  /**
   * All entities, a page (≤ 250) at a time; an empty account is a 204 and yields nothing. `seen`
   * receives amoCRM's clock (the first answer's Date header) when the listing began.
   */
  async *pages(
    params: Record<string, string | string[]> = {},
    seen: ListingClock = {},
  ): AsyncGenerator<Entity[]> {
    let query: Record<string, string | number | string[]> | undefined = {
      ...this.readParams,
      ...params,
      limit: PAGE_LIMIT,
      page: 1,
    };
    let path = this.path;
    while (query) {
      const response: {
        status: number;
        data: EntityPage<Entity> | undefined;
        headers: Record<string, unknown>;
      } = await this.http.get<EntityPage<Entity>>(path, query);
      if (seen.serverTime === undefined) {
        const date = Date.parse(String(response.headers?.date ?? ''));
        if (!Number.isNaN(date)) seen.serverTime = Math.floor(date / 1000);
      }
      if (response.status === 204 || !response.data) return;
      const entities = response.data._embedded?.[this.kind] ?? [];
      if (entities.length > 0) yield entities;
      const next: string | undefined = response.data._links?.next?.href;
      if (!next || entities.length === 0) return;
      // Follow the link's path and query on our own base URL (the link may name another host).
      const url: URL = new URL(next, this.http.baseUrl);
      path = url.pathname;
      query = Object.fromEntries(groupParams(url.searchParams));
    }
  }
}

/** At most this many entities read again by each window of a complete listing (at least one). */
export const WINDOW_OVERLAP = 25;

/**
 * The next window of a complete listing once `end` entities were read: the `limit` (≤ 250) and
 * `page` whose offset, (page − 1) × limit, lies 1–25 entities before `end` and whose window
 * reaches furthest. Over 100 000 entities this costs about 8 % more requests than plain pages.
 */
export function nextWindow(end: number): { limit: number; page: number; start: number } {
  if (end <= 0) return { limit: PAGE_LIMIT, page: 1, start: 0 };
  let best = { limit: 1, page: end, start: end - 1 };
  for (let limit = PAGE_LIMIT; limit >= 2; limit--) {
    const start = Math.floor((end - 1) / limit) * limit;
    if (end - start > WINDOW_OVERLAP || start + limit <= end) continue;
    if (start + limit > best.start + best.limit) best = { limit, page: start / limit + 1, start };
  }
  return best;
}

function groupParams(params: URLSearchParams): [string, string | string[]][] {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of params) grouped.set(key, [...(grouped.get(key) ?? []), value]);
  return [...grouped].map(([key, values]) => [
    key.replace(/\[\]$/, ''),
    values.length === 1 && !key.endsWith('[]') ? values[0]! : values,
  ]);
}

/** The values of one custom field of an entity as strings, by field id or by code (PHONE, EMAIL). */
export function fieldValues(
  entity: { custom_fields_values: CustomFieldHolder[] | null },
  which: { fieldId?: number; code?: string },
): string[] {
  return heldValues(entity, which).map((value) => value.value);
}

interface CustomFieldHolder {
  field_id: number;
  field_code?: string | null;
  values: { value?: unknown; enum_id?: number; enum_code?: string | null }[];
}

/** The values of one field with their enums, as an entity holds them. */
export function heldValues(
  entity: { custom_fields_values: CustomFieldHolder[] | null },
  which: { fieldId?: number; code?: string },
): { value: string; enum_id?: number; enum_code?: string }[] {
  const field = (entity.custom_fields_values ?? []).find((candidate) =>
    which.fieldId !== undefined ? candidate.field_id === which.fieldId : candidate.field_code === which.code,
  );
  return (field?.values ?? []).map((value) => ({
    value: String(value.value ?? ''),
    ...(value.enum_id === undefined ? {} : { enum_id: value.enum_id }),
    ...(value.enum_code === undefined || value.enum_code === null ? {} : { enum_code: value.enum_code }),
  }));
}
