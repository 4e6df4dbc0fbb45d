import { AmoCrmError, AmoValidationError, type ValidationProblem } from './errors.ts';
import type { AmoHttp } from './http.ts';
import type { Contact, ContactCreate, ContactUpdate } from './types.ts';

export interface BatchItem<T> {
  requestId: string;
  body: T;
}

export interface BatchResult {
  /** request_id → contact id, for every item amoCRM stored. */
  stored: Map<string, number>;
  /** request_id → why amoCRM refused the item. */
  refused: Map<string, ValidationProblem[]>;
  /** request_ids of creates whose fate is unknown (timeout, dropped connection, 5xx): look them up. */
  uncertain: string[];
}

interface ContactPage {
  _links?: { next?: { href?: string } };
  _embedded?: { contacts?: Contact[] };
}

interface WriteResponse {
  _embedded?: { contacts?: { id: number; request_id?: string }[] };
}

export const PAGE_LIMIT = 250;

/** Contacts: batch writes mapped by request_id, searches checked exactly, and full iteration. */
export class ContactsApi {
  private readonly http: AmoHttp;
  readonly batchSize: number;

  constructor(http: AmoHttp, batchSize = 50) {
    this.http = http;
    this.batchSize = batchSize;
  }

  /** Creates in chunks of batchSize. A chunk whose answer was lost is reported uncertain, not resent. */
  async create(items: readonly BatchItem<ContactCreate>[]): Promise<BatchResult> {
    return this.inChunks(items, (chunk) => this.write('post', chunk));
  }

  /** Updates in chunks of batchSize (PATCH is safe to resend, and the transport does). */
  async update(items: readonly BatchItem<ContactUpdate>[]): Promise<BatchResult> {
    return this.inChunks(items, (chunk) => this.write('patch', chunk));
  }

  /** One request's worth (≤ batchSize). Refused items are set aside and the rest sent again. */
  async write(
    method: 'post' | 'patch',
    items: readonly BatchItem<ContactCreate | ContactUpdate>[],
  ): Promise<BatchResult> {
    if (items.length > this.batchSize) throw new RangeError(`at most ${this.batchSize} contacts per request`);
    const result: BatchResult = { stored: new Map(), refused: new Map(), uncertain: [] };
    let pending = [...items];
    while (pending.length > 0) {
      const body = pending.map((item) => ({ ...item.body, request_id: item.requestId }));
      try {
        const response =
          method === 'post'
            ? await this.http.post<WriteResponse>('/api/v4/contacts', body)
            : await this.http.patch<WriteResponse>('/api/v4/contacts', body);
        for (const stored of response.data?._embedded?.contacts ?? []) {
          if (stored.request_id !== undefined) result.stored.set(String(stored.request_id), stored.id);
        }
        const missing = pending.filter((item) => !result.stored.has(item.requestId));
        if (missing.length > 0 && method === 'post')
          result.uncertain.push(...missing.map((item) => item.requestId));
        if (missing.length > 0 && method === 'patch') {
          for (const item of missing) result.stored.set(item.requestId, (item.body as ContactUpdate).id);
        }
        return result;
      } catch (error) {
        if (error instanceof AmoCrmError && error.kind === 'uncertain') {
          result.uncertain.push(...pending.map((item) => item.requestId));
          return result;
        }
        if (!(error instanceof AmoValidationError)) throw error;
        const known = new Set(pending.map((item) => item.requestId));
        const refusedNow = error.problems.filter((problem) => known.has(problem.requestId));
        // A refusal that names none of our items cannot be narrowed down: refuse them all.
        if (refusedNow.length === 0) {
          for (const item of pending) result.refused.set(item.requestId, [...error.problems]);
          return result;
        }
        for (const problem of refusedNow) {
          result.refused.set(problem.requestId, [...(result.refused.get(problem.requestId) ?? []), problem]);
        }
        pending = pending.filter((item) => !result.refused.has(item.requestId));
      }
    }
    return result;
  }

  /** Every contact whose text matches `query` (amoCRM's full-text search), all pages. */
  async search(query: string): Promise<Contact[]> {
    const found: Contact[] = [];
    for await (const page of this.pages({ query })) found.push(...page);
    return found;
  }

  /** Contacts whose field `fieldId` holds exactly `value` (search hits are checked, never trusted). */
  async findByFieldValue(fieldId: number, value: string): Promise<Contact[]> {
    const hits = await this.search(value);
    return hits.filter((contact) => fieldValues(contact, { fieldId }).some((stored) => stored === value));
  }

  /**
   * Contacts with this phone in PHONE. amoCRM's search does not match +7… against 8…, so the
   * national digits are searched and every hit's numbers are compared after `normalise`.
   */
  async findByPhone(phone: string, normalise: (written: string) => string | undefined): Promise<Contact[]> {
    const digits = phone.replace(/\D/g, '');
    const national = digits.length === 11 && digits.startsWith('7') ? digits.slice(1) : digits;
    const hits = await this.search(national);
    return hits.filter((contact) =>
      fieldValues(contact, { code: 'PHONE' }).some((stored) => normalise(stored) === phone),
    );
  }

  async getByIds(ids: readonly number[]): Promise<Contact[]> {
    const found: Contact[] = [];
    for (let start = 0; start < ids.length; start += PAGE_LIMIT) {
      const slice = ids.slice(start, start + PAGE_LIMIT).map(String);
      for await (const page of this.pages({ 'filter[id]': slice })) found.push(...page);
    }
    return found;
  }

  /** All contacts, a page (≤ 250) at a time; an empty account is a 204 and yields nothing. */
  async *pages(params: Record<string, string | string[]> = {}): AsyncGenerator<Contact[]> {
    let query: Record<string, string | number | string[]> | undefined = {
      ...params,
      limit: PAGE_LIMIT,
      page: 1,
    };
    let path = '/api/v4/contacts';
    while (query) {
      const response: { status: number; data: ContactPage | undefined } = await this.http.get<ContactPage>(
        path,
        query,
      );
      if (response.status === 204 || !response.data) return;
      const contacts = response.data._embedded?.contacts ?? [];
      if (contacts.length > 0) yield contacts;
      const next: string | undefined = response.data._links?.next?.href;
      if (!next || contacts.length === 0) return;
      // Follow the link's path and query on our own base URL (the link may name another host).
      const url: URL = new URL(next, this.http.baseUrl);
      path = url.pathname;
      query = Object.fromEntries(groupParams(url.searchParams));
    }
  }

  private async inChunks<T>(
    items: readonly BatchItem<T>[],
    send: (chunk: readonly BatchItem<T>[]) => Promise<BatchResult>,
  ): Promise<BatchResult> {
    const total: BatchResult = { stored: new Map(), refused: new Map(), uncertain: [] };
    for (let start = 0; start < items.length; start += this.batchSize) {
      const part = await send(items.slice(start, start + this.batchSize));
      for (const [key, id] of part.stored) total.stored.set(key, id);
      for (const [key, problems] of part.refused) total.refused.set(key, problems);
      total.uncertain.push(...part.uncertain);
    }
    return total;
  }
}

function groupParams(params: URLSearchParams): [string, string | string[]][] {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of params) grouped.set(key, [...(grouped.get(key) ?? []), value]);
  return [...grouped].map(([key, values]) => [
    key.replace(/\[\]$/, ''),
    values.length === 1 && !key.endsWith('[]') ? values[0]! : values,
  ]);
}

/** The values of one field of a contact as strings, by field id or by code (PHONE, EMAIL). */
export function fieldValues(contact: Contact, which: { fieldId?: number; code?: string }): string[] {
  const field = (contact.custom_fields_values ?? []).find((candidate) =>
    which.fieldId !== undefined ? candidate.field_id === which.fieldId : candidate.field_code === which.code,
  );
  return (field?.values ?? []).map((value) => String(value.value ?? ''));
}
