import type { DatabaseConfig } from '../config/config.ts';
import type { ChangeMark } from './patient-source.ts';
import type { ReceptionRow } from '../mapping/deal-mapper.ts';
import type { SqlConnection } from './pool.ts';
import type { PreparedReceptionSql, ReceptionSqlFiles } from './reception-sql.ts';
import { type PagedSourceOptions, PagedSqlSource, validId } from './sql-source.ts';

/** Where receptions come from: IDENT over SQL here, a synthetic clinic in the demo, benchmarks and tests. */
export interface ReceptionSource {
  /**
   * Receptions changed at or after `since` (their row, orders or service lines), and the later
   * receptions from `windowStart` on of the patients they belong to; by id. `sinceRowVersion`: the
   * database's rowversion mark as the last run began, where it has one. `marks`: in a clinic chain,
   * each database's own mark (see ChainReceptionSource); one database ignores them.
   */
  changedSince(
    since: Date,
    windowStart: Date,
    sinceRowVersion?: string,
    marks?: ChangeMark['sources'],
  ): AsyncIterable<ReceptionRow>;
  /** Every reception planned from `windowStart` on (IDENT's wall clock), by id. */
  window(windowStart: Date): AsyncIterable<ReceptionRow>;
  one(receptionId: string): Promise<ReceptionRow | undefined>;
}

/** Receptions read from IDENT, on the connection the patients are read on (see PagedSqlSource). */
export class SqlReceptionSource extends PagedSqlSource implements ReceptionSource {
  private readonly files: ReceptionSqlFiles;
  private readonly sql: PreparedReceptionSql;
  private readonly noShowHours: number | null;

  /** `noShowHours`: the deal map's no-show rule (`overdueHours`), for selecting newly overdue visits. */
  constructor(
    connection: SqlConnection,
    files: ReceptionSqlFiles,
    prepared: PreparedReceptionSql,
    db: DatabaseConfig,
    options: PagedSourceOptions & { noShowHours?: number | null } = {},
  ) {
    super(connection, db, options);
    this.files = files;
    this.sql = prepared;
    this.noShowHours = options.noShowHours ?? null;
  }

  async *changedSince(
    since: Date,
    windowStart: Date,
    sinceRowVersion?: string,
  ): AsyncGenerator<ReceptionRow> {
    // Without a mark (the first run after an upgrade) a rowversion selection would pick every
    // reception: DateTimeChanged alone selects until a checkpoint carries one.
    const byRowVersion = sinceRowVersion && this.sql.rowVersionSelection;
    const ids = await this.selectIds(
      byRowVersion ? [this.files.selectChanged, byRowVersion] : [this.files.selectChanged],
      'ReceptionId',
      {
        since,
        windowStart,
        noShowHours: this.noShowHours,
        ...(byRowVersion ? { sinceRowVersion } : {}),
      },
    );
    yield* this.byIds(this.sql.receptions, ids, 'ReceptionId');
  }

  /**
   * The window's ids are selected once, then read a page of ids at a time: paging by keyset would
   * evaluate the PlanStart range again for every page (thousands of pages over ten years).
   */
  async *window(windowStart: Date): AsyncGenerator<ReceptionRow> {
    const ids = await this.selectIds([this.files.selectWindow], 'ReceptionId', { windowStart });
    yield* this.byIds(this.sql.receptions, ids, 'ReceptionId');
  }

  async one(receptionId: string): Promise<ReceptionRow | undefined> {
    const id = validId(receptionId);
    if (id === undefined) return undefined;
    for await (const row of this.keyset(this.sql.receptions, this.files.selectOne, 'ReceptionId', {
      receptionId: id,
    }))
      return row;
    return undefined;
  }
}
