import { readSourceMarks, type SourceMarks, writeSourceMarks } from '../source-marks.ts';
import { readMeta, type Sql, type Transaction, writeMeta } from './sql.ts';

export interface Checkpoint {
  at: Date;
  rowVersion?: string;
  /** In a clinic chain: each database's own mark, by source key (kept with the time, in one transaction). */
  sources?: SourceMarks;
}

/**
 * A stream's checkpoint in the meta table: the database-clock time up to which every change is
 * handled, and the source's rowversion mark of the same moment where it has one. The two move in
 * one transaction: a kill between them never pairs one run's time with another's mark.
 */
export class CheckpointMark {
  private readonly sql: Sql;
  private readonly transaction: Transaction;
  private readonly keys: { at: string; rowVersion: string };

  constructor(sql: Sql, transaction: Transaction, keys: { at: string; rowVersion: string }) {
    this.sql = sql;
    this.transaction = transaction;
    this.keys = keys;
  }

  read(): Checkpoint | undefined {
    const value = readMeta(this.sql, this.keys.at);
    if (!value) return undefined;
    // An empty mark (as the deal stream once wrote for none) is none.
    const rowVersion = readMeta(this.sql, this.keys.rowVersion);
    return {
      at: new Date(value),
      ...(rowVersion ? { rowVersion } : {}),
      ...readSourceMarks(readMeta(this.sql, `${this.keys.at}_sources`)),
    };
  }

  write(mark: Checkpoint): void {
    this.transaction(() => {
      writeMeta(this.sql, this.keys.at, mark.at.toISOString());
      writeMeta(this.sql, this.keys.rowVersion, mark.rowVersion || undefined);
      writeMeta(this.sql, `${this.keys.at}_sources`, writeSourceMarks(mark.sources) || undefined);
    });
  }
}
