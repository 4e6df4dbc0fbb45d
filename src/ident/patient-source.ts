import type { DatabaseConfig } from '../config/config.ts';
import type { PatientRow } from '../mapping/mapper.ts';
import { classifyDbError, type Where } from './errors.ts';
import { SqlTypes, type SqlConnection } from './pool.ts';
import { composePatientQuery, type SqlFiles } from './sql-files.ts';
import { streamRows } from './stream.ts';

/** Where patients come from: IDENT over SQL here, an in-memory list in tests and benchmarks. */
export interface PatientSource {
  /** The source's own clock (the database server's), for checkpoints. */
  now(): Promise<Date>;
  /** Patients whose row or whose visits, payments or orders changed at or after `since`, by id. */
  changedSince(since: Date): AsyncIterable<PatientRow>;
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

/**
 * Patients read from IDENT a page at a time (keyset on the id, so each query is short and never
 * holds locks on the clinic's tables while we talk to amoCRM), each page streamed with
 * backpressure.
 */
export class SqlPatientSource implements PatientSource {
  private readonly connection: SqlConnection;
  private readonly files: SqlFiles;
  private readonly where: Where;
  private readonly pageSize: number;
  private readonly highWaterMark: number;

  constructor(
    connection: SqlConnection,
    files: SqlFiles,
    db: DatabaseConfig,
    options: SqlPatientSourceOptions = {},
  ) {
    this.connection = connection;
    this.files = files;
    this.where = db;
    this.pageSize = options.pageSize ?? 500;
    this.highWaterMark = options.highWaterMark ?? 250;
  }

  async now(): Promise<Date> {
    const [row] = await this.collect(this.files.clock, {});
    const value = row?.DbNow;
    if (!(value instanceof Date))
      throw classifyDbError(new Error('the clock query returned no date'), this.where);
    return value;
  }

  changedSince(since: Date): AsyncIterable<PatientRow> {
    return this.pages([this.files.selectChanged, this.files.selectActivity], { since });
  }

  all(): AsyncIterable<PatientRow> {
    return this.pages([this.files.selectAll], {});
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    for await (const row of this.pages([this.files.selectOne], { patientId })) return row;
    return undefined;
  }

  async stats(): Promise<{ patients: number; newestChange: Date | null }> {
    const [row] = await this.collect(this.files.stats, {});
    return { patients: Number(row?.Patients ?? 0), newestChange: (row?.NewestChange as Date | null) ?? null };
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  private async *pages(selections: readonly string[], params: { since?: Date; patientId?: string }) {
    const sql = composePatientQuery(this.files, selections);
    let afterId: string = '0';
    for (;;) {
      let count = 0;
      for await (const row of this.query(sql, { ...params, afterId, pageSize: this.pageSize })) {
        count += 1;
        afterId = String(row.PatientId);
        yield row as PatientRow;
      }
      if (count < this.pageSize) return;
    }
  }

  private async collect(sql: string, params: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const row of this.query(sql, params)) rows.push(row);
    return rows;
  }

  private async *query(
    sql: string,
    params: { since?: Date; patientId?: string; afterId?: string; pageSize?: number },
  ) {
    try {
      const request = this.connection.request();
      if (params.since !== undefined) request.input('since', SqlTypes.DateTime2, params.since);
      if (params.patientId !== undefined) request.input('patientId', SqlTypes.BigInt, params.patientId);
      if (params.afterId !== undefined) request.input('afterId', SqlTypes.BigInt, params.afterId);
      if (params.pageSize !== undefined) request.input('pageSize', SqlTypes.Int, params.pageSize);
      yield* streamRows(request, sql, this.highWaterMark);
    } catch (error) {
      throw classifyDbError(error, this.where);
    }
  }
}
