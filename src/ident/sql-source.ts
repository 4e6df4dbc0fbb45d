import type { DatabaseConfig } from '../config/config.ts';
import { classifyDbError, type Where } from './errors.ts';
import { type SqlConnection, SqlTypes } from './pool.ts';
import {
  composeIdQuery,
  composeQuery,
  idsSelection,
  readOnlyForServer,
  type SelectionKey,
} from './sql-files.ts';
import { streamRows } from './stream.ts';

export type Row = Record<string, unknown>;
export type QueryParams = Record<string, Date | number | string | null | undefined>;

/** Parameters that meet datetime columns; `sinceRowVersion` meets rowversion; the rest are int ids. */
const DATETIME_PARAMS = new Set(['since', 'windowStart']);

export interface PagedSourceOptions {
  pageSize?: number;
  highWaterMark?: number;
}

/**
 * Rows read from IDENT a page at a time, each page streamed with backpressure, so no query holds
 * locks on the clinic's tables while we talk to amoCRM. A query runs over a selection of ids
 * (`WITH ident_sync_selection (key) AS (…)`): either paged by keyset on the id, or — for the ids
 * of changed rows, selected once — a page of given ids at a time, so a change selection is not
 * evaluated again for every page.
 */
export class PagedSqlSource {
  protected readonly connection: SqlConnection;
  protected readonly where: Where;
  protected readonly pageSize: number;
  private readonly highWaterMark: number;

  constructor(connection: SqlConnection, db: DatabaseConfig, options: PagedSourceOptions = {}) {
    this.connection = connection;
    this.where = db;
    this.pageSize = options.pageSize ?? 500;
    this.highWaterMark = options.highWaterMark ?? 250;
  }

  /**
   * Pages of `query` over `selection`, by id. Each page is read to its end before a row of it is
   * handed on: a result set left open while the sync waits on amoCRM would hold its shared locks on
   * IDENT's tables (and block the clinic's own writes) for as long as those requests take. A page
   * is `pageSize` rows, so memory stays bounded.
   */
  protected async *keyset(
    query: string,
    selection: string,
    key: SelectionKey,
    params: QueryParams,
  ): AsyncGenerator<Row> {
    const sql = composeQuery(query, selection, key);
    let afterId = 0;
    for (;;) {
      const page = await this.collect(sql, { ...params, afterId, pageSize: this.pageSize });
      for (const row of page) {
        afterId = Number(row[key]);
        yield row;
      }
      if (page.length < this.pageSize) return;
    }
  }

  /** The ids the selections find (once each, in order), selected in one query. */
  protected async selectIds(
    selections: readonly string[],
    key: SelectionKey,
    params: QueryParams,
  ): Promise<number[]> {
    const ids: number[] = [];
    for await (const row of this.query(composeIdQuery(selections, key), params)) {
      const id = Number(row[key]);
      if (Number.isSafeInteger(id) && id > 0) ids.push(id);
    }
    return ids;
  }

  /** `query` over these ids, a page of them at a time. */
  protected async *byIds(query: string, ids: readonly number[], key: SelectionKey): AsyncGenerator<Row> {
    for (let start = 0; start < ids.length; start += this.pageSize) {
      const page = ids.slice(start, start + this.pageSize);
      const idParams = Object.fromEntries(page.map((id, index) => [`id${index}`, id]));
      // Read whole before handed on, as in `keyset`.
      yield* await this.collect(composeQuery(query, idsSelection(page.length, key), key), {
        ...idParams,
        afterId: 0,
        pageSize: page.length,
      });
    }
  }

  protected async collect(sql: string, params: QueryParams): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const row of this.query(sql, params)) rows.push(row);
    return rows;
  }

  /**
   * Parameters go with the types of the columns they meet (datetime, int, binary(8)), so SQL
   * Server compares without converting a column and its indexes stay usable.
   */
  protected async *query(sql: string, params: QueryParams): AsyncGenerator<Row> {
    readOnlyForServer(sql);
    try {
      const request = this.connection.request();
      for (const [name, value] of Object.entries(params)) {
        if (DATETIME_PARAMS.has(name)) request.input(name, SqlTypes.DateTime, value);
        else if (name === 'sinceRowVersion')
          request.input(name, SqlTypes.RowVersion, Buffer.from(String(value || '0000000000000000'), 'hex'));
        else request.input(name, SqlTypes.Int, value);
      }
      yield* streamRows(request, sql, this.highWaterMark) as AsyncGenerator<Row>;
    } catch (error) {
      throw classifyDbError(error, this.where);
    }
  }
}

/** IDENT's ids are int: anything larger names nothing. */
export const MAX_INT = 2_147_483_647;

export const validId = (text: string): number | undefined => {
  const id = Number(text);
  return Number.isSafeInteger(id) && id >= 1 && id <= MAX_INT ? id : undefined;
};
