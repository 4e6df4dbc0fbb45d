import type { EmulatedField, ValidationError } from './validation.ts';

/** Pieces the emulated contacts and deals share: error answers and how custom field values are stored. */

export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export const problem = (status: number, detail: string, extra: Record<string, unknown> = {}) => ({
  title:
    status === 401
      ? 'Unauthorized'
      : status === 403
        ? 'Forbidden'
        : status === 404
          ? 'Not Found'
          : 'Bad Request',
  type: `https://httpstatus.es/${status}`,
  status,
  detail,
  ...extra,
});

/** amoCRM's 400 for a batch with refused items, verbatim in shape. */
export function validationFailure(failures: { request_id: string; errors: ValidationError[] }[]): HttpError {
  return new HttpError(400, {
    'validation-errors': failures,
    title: 'Bad Request',
    type: 'https://httpstatus.es/400',
    status: 400,
    detail: 'Request validation failed',
  });
}

export function requestIdOf(item: unknown, index: number): string {
  const id = item && typeof item === 'object' ? (item as { request_id?: unknown }).request_id : undefined;
  return typeof id === 'string' ? id : String(index);
}

export interface StoredValue {
  value?: string | number | boolean;
  enum_id?: number | null;
  enum_code?: string;
}

export interface StoredField {
  field_id: number;
  field_name: string;
  field_code: string | null;
  field_type: string;
  values: StoredValue[];
}

export function storedValue(field: EmulatedField, value: StoredValue): StoredValue {
  if (field.type === 'multitext') {
    const item = field.enums?.find((e) => e.value === value.enum_code) ?? field.enums?.[0];
    return { value: value.value, enum_id: item?.id, enum_code: item?.value };
  }
  if (['select', 'radiobutton', 'multiselect'].includes(field.type)) {
    const item = field.enums!.find((e) =>
      value.enum_id !== undefined && value.enum_id !== null
        ? e.id === value.enum_id
        : e.value === value.value,
    )!;
    return { value: item.value, enum_id: item.id };
  }
  // amoCRM reads numbers back as strings and dates as Unix seconds.
  if (field.type === 'numeric') return { value: String(value.value) };
  if (['date', 'date_time', 'birthday'].includes(field.type) && typeof value.value === 'string') {
    return { value: Math.floor(Date.parse(value.value) / 1000) };
  }
  return { value: value.value };
}

/**
 * Fields present get exactly the values sent (null or [] removes the field; so does an unticked
 * checkbox where amoCRM keeps none); others are untouched. The values were validated before.
 */
export function applyFieldValues(
  entity: { custom_fields_values: StoredField[] | null },
  raw: unknown,
  fields: ReadonlyMap<number, EmulatedField>,
  uncheckedCheckboxAbsent: boolean,
): void {
  if (!Array.isArray(raw)) return;
  const current = new Map((entity.custom_fields_values ?? []).map((field) => [field.field_id, field]));
  for (const entry of raw as { field_id?: number; field_code?: string; values: unknown[] | null }[]) {
    const field =
      entry.field_id !== undefined
        ? fields.get(entry.field_id)!
        : [...fields.values()].find((candidate) => candidate.code === entry.field_code)!;
    const unticked =
      uncheckedCheckboxAbsent &&
      field.type === 'checkbox' &&
      entry.values?.every((value) => (value as StoredValue).value === false);
    if (entry.values === null || entry.values.length === 0 || unticked) {
      current.delete(field.id);
      continue;
    }
    current.set(field.id, {
      field_id: field.id,
      field_name: field.name,
      field_code: field.code,
      field_type: field.type,
      values: entry.values.map((value) => storedValue(field, value as StoredValue)),
    });
  }
  entity.custom_fields_values = current.size > 0 ? [...current.values()] : null;
}

/** Ids asked for by `filter[id]`, `filter[id][]` or `filter[id][n]`. */
export function idsFilter(url: URL): number[] {
  return [...url.searchParams.entries()]
    .filter(([key]) => key === 'filter[id]' || key === 'filter[id][]' || /^filter\[id\]\[\d+\]$/.test(key))
    .flatMap(([, value]) => value.split(','))
    .map(Number);
}

/**
 * One page of a list answer as amoCRM gives it: `order[id]` / `order[updated_at]` (when honoured),
 * `page` and `limit` (at most 250), links to the next page on the caller's host, 204 when empty.
 */
export function listPage<T extends { id: number; updated_at: number }>(
  url: URL,
  matches: T[],
  options: { kind: string; honourOrder: boolean; origin: string; present: (item: T) => unknown },
): [number, unknown] {
  const limit = Math.min(250, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  let sorted = matches;
  const order = [...url.searchParams.entries()].find(([key]) => /^order\[(id|updated_at)\]$/.test(key));
  if (order && options.honourOrder) {
    const field = order[0] === 'order[id]' ? 'id' : 'updated_at';
    const direction = order[1].toLowerCase() === 'desc' ? -1 : 1;
    sorted = [...matches].sort((a, b) => direction * (a[field] - b[field] || a.id - b.id));
  }
  const slice = sorted.slice((page - 1) * limit, page * limit);
  if (slice.length === 0) return [204, undefined];
  const link = (p: number) => {
    const next = new URL(url.toString());
    next.searchParams.set('page', String(p));
    next.searchParams.set('limit', String(limit));
    return { href: `${options.origin}${next.pathname}${next.search}` };
  };
  const links: Record<string, { href: string }> = { self: link(page) };
  if (page * limit < sorted.length) links.next = link(page + 1);
  if (page > 1) links.prev = link(page - 1);
  return [200, { _page: page, _links: links, _embedded: { [options.kind]: slice.map(options.present) } }];
}
