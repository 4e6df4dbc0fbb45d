import type { DatabaseConfig } from '../config/config.ts';
import type { PatientRow } from '../mapping/mapper.ts';
import { classifyDbError } from './errors.ts';
import type { SqlConnection } from './pool.ts';
import type { PreparedSql, SqlFiles } from './sql-files.ts';
import { type PagedSourceOptions, PagedSqlSource, validId } from './sql-source.ts';

/** A moment of the source's own clock: the checkpoint a run starts from. */
export interface ChangeMark {
  /** The database server's wall clock. */
  at: Date;
  /** MIN_ACTIVE_ROWVERSION() at that moment (hex), where rowversion selections need it. */
  rowVersion?: string;
  /** In a clinic chain: each database's own mark, by source key (see ChainPatientSource). */
  sources?: Record<string, { at: Date; rowVersion?: string }>;
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
  /** In a clinic chain: the place in SOURCES of the clinic a patient id belongs to (0 first). */
  rankOf?(patientId: string): number | undefined;
}

/**
 * Patients read from IDENT (see PagedSqlSource). A deep sync pages through every patient; an
 * incremental run first selects the ids of changed patients once — each table filtered on its
 * DateTimeChanged range alone — and then reads pages of those ids.
 */
export class SqlPatientSource extends PagedSqlSource implements PatientSource {
  private readonly files: SqlFiles;
  private readonly sql: PreparedSql;

  constructor(
    connection: SqlConnection,
    files: SqlFiles,
    prepared: PreparedSql,
    db: DatabaseConfig,
    options: PagedSourceOptions = {},
  ) {
    super(connection, db, options);
    this.files = files;
    this.sql = prepared;
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
    yield* this.byIds(this.sql.patients, await this.changedIds(since), 'PatientId');
  }

  /** The ids of changed patients, selected once (a few thousand numbers even after a long pause). */
  changedIds(since: ChangeMark): Promise<number[]> {
    return this.selectIds(
      this.sql.changeSelections.map((selection) => selection.sql),
      'PatientId',
      { since: since.at, sinceRowVersion: since.rowVersion ?? '' },
    );
  }

  all(): AsyncIterable<PatientRow> {
    return this.keyset(this.sql.patients, this.files.selectAll, 'PatientId', {});
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    const id = validId(patientId);
    if (id === undefined) return undefined;
    for await (const row of this.keyset(this.sql.patients, this.files.selectOne, 'PatientId', {
      patientId: id,
    }))
      return row;
    return undefined;
  }

  async stats(): Promise<{ patients: number; newestChange: Date | null }> {
    const [row] = await this.collect(this.files.stats, {});
    return { patients: Number(row?.Patients ?? 0), newestChange: (row?.NewestChange as Date | null) ?? null };
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
