import type { DatabaseConfig } from '../config/config.ts';
import type { PatientRow } from '../mapping/mapper.ts';
import { classifyDbError, type Where } from './errors.ts';
import { type SqlConnection, SqlTypes } from './pool.ts';
import {
  composeIdQuery,
  composePatientQuery,
  idsSelection,
  type PreparedSql,
  type SqlFiles,
} from './sql-files.ts';
import { streamRows } from './stream.ts';

/** A moment of the source's own clock: the checkpoint a run starts from. */
export interface ChangeMark {
  /** The database server's wall clock. */
  at: Date;
  /** MIN_ACTIVE_ROWVERSION() at that moment (hex), where rowversion selections need it. */
  rowVersion?: string;
}

/** Where patients come from: IDENT over SQL here, an in-memory list in tests and benchmarks. */
export interface PatientSource {
  /** The source's own clock (the database server's), for checkpoints. */
  now(): Promise<ChangeMark>;
  /** Patients whose row or whose visits, payments or orders changed at or after `since`, by id. */
  changedSince(since: ChangeMark): AsyncIterable<PatientRow>;
  /** Every patient, by id. */
  all(): AsyncIterable<PatientRow>;
  one(patientId: string): Promise<PatientRow | undefined>;
  stats(): Promise<{ patients: number; newestChange: Date | null }>;
  close(): Promise<void>;
}

export interface SqlPatientSourceOptions {
  pageSize?: number;
  highWaterMark?: number;
}

/** IDENT's ids are int: anything larger names no patient. */
const MAX_INT = 2_147_483_647;

/**
 * Patients read from IDENT a page at a time, each page streamed with backpressure, so no query
 * holds locks on the clinic's tables while we talk to amoCRM. A deep sync pages through every
 * patient (keyset on the id). An incremental run first selects the ids of changed patients once —
 * each table filtered on its DateTimeChanged range alone — and then reads pages of those ids, so
 * the change selection is not evaluated again for every page.
 */
export class SqlPatientSource implements PatientSource {
  private readonly connection: SqlConnection;
  private readonly files: SqlFiles;
  private readonly sql: PreparedSql;
  private readonly where: Where;
  private readonly pageSize: number;
  private readonly highWaterMark: number;

  constructor(
    connection: SqlConnection,
    files: SqlFiles,
    prepared: PreparedSql,
    db: DatabaseConfig,
    options: SqlPatientSourceOptions = {},
  ) {
    this.connection = connection;
    this.files = files;
    this.sql = prepared;
    this.where = db;
    this.pageSize = options.pageSize ?? 500;
    this.highWaterMark = options.highWaterMark ?? 250;
  }

  async now(): Promise<ChangeMark> {
    const [row] = await this.collect(this.files.clock, {});
    const value = row?.DbNow;
    if (!(value instanceof Date))
      throw classifyDbError(new Error('the clock query returned no date'), this.where);
    const rowVersion = Buffer.isBuffer(row?.DbRowVersion) ? row.DbRowVersion.toString('hex') : undefined;
    return { at: value, ...(rowVersion ? { rowVersion } : {}) };
  }

  async *changedSince(since: ChangeMark): AsyncGenerator<PatientRow> {
    const ids = await this.changedIds(since);
    for (let start = 0; start < ids.length; start += this.pageSize) {
      const page = ids.slice(start, start + this.pageSize);
      const idParams = Object.fromEntries(page.map((id, index) => [`id${index}`, id]));
      yield* this.query(composePatientQuery(this.sql.patients, idsSelection(page.length)), {
        ...idParams,
        afterId: 0,
        pageSize: page.length,
      }) as AsyncGenerator<PatientRow>;
    }
  }

  /** The ids of changed patients, selected once (a few thousand numbers even after a long pause). */
  async changedIds(since: ChangeMark): Promise<number[]> {
    const sql = composeIdQuery(this.sql.changeSelections.map((selection) => selection.sql));
    const ids: number[] = [];
    for await (const row of this.query(sql, { since: since.at, sinceRowVersion: since.rowVersion ?? '' })) {
      const id = Number(row.PatientId);
      if (Number.isSafeInteger(id) && id > 0) ids.push(id);
    }
    return ids;
  }

  all(): AsyncIterable<PatientRow> {
    return this.keyset(this.files.selectAll, {});
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    const id = Number(patientId);
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_INT) return undefined;
    for await (const row of this.keyset(this.files.selectOne, { patientId: id })) return row;
    return undefined;
  }

  async stats(): Promise<{ patients: number; newestChange: Date | null }> {
    const [row] = await this.collect(this.files.stats, {});
    return { patients: Number(row?.Patients ?? 0), newestChange: (row?.NewestChange as Date | null) ?? null };
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /** Pages of the patient query over a selection, by id. */
  private async *keyset(selection: string, params: QueryParams): AsyncGenerator<PatientRow> {
    const sql = composePatientQuery(this.sql.patients, selection);
    let afterId = 0;
    for (;;) {
      let count = 0;
      for await (const row of this.query(sql, { ...params, afterId, pageSize: this.pageSize })) {
        count += 1;
        afterId = Number(row.PatientId);
        yield row as PatientRow;
      }
      if (count < this.pageSize) return;
    }
  }

  private async collect(sql: string, params: QueryParams): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const row of this.query(sql, params)) rows.push(row);
    return rows;
  }

  /**
   * Parameters go with the types of the columns they meet (datetime, int, binary(8)), so SQL
   * Server compares without converting a column and its indexes stay usable.
   */
  private async *query(sql: string, params: QueryParams) {
    try {
      const request = this.connection.request();
      for (const [name, value] of Object.entries(params)) {
        if (name === 'since') request.input(name, SqlTypes.DateTime, value);
        else if (name === 'sinceRowVersion')
          request.input(name, SqlTypes.RowVersion, Buffer.from(String(value || '0000000000000000'), 'hex'));
        else request.input(name, SqlTypes.Int, value);
      }
      yield* streamRows(request, sql, this.highWaterMark);
    } catch (error) {
      throw classifyDbError(error, this.where);
    }
  }
}

type QueryParams = Record<string, Date | number | string | undefined>;
