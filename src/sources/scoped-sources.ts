import type { ChangeMark, PatientSource } from '../ident/patient-source.ts';
import type { ReceptionSource } from '../ident/reception-source.ts';
import { type PatientRow, readId } from '../mapping/mapper.ts';
import type { ReceptionRow } from '../mapping/deal-mapper.ts';
import { ownsId, scopeId, type SourceScope, splitScopedId } from './source-key.ts';

/** One IDENT database of the chain: its key and what is read from it. */
export interface IdentSource {
  scope: SourceScope;
  patients: PatientSource;
  receptions?: ReceptionSource;
}

/** The row with its id columns as the sync keeps them (`north:1042`); a column that is not an id stays as read. */
function scopeRow<R extends Record<string, unknown>>(
  scope: SourceScope,
  row: R,
  columns: readonly string[],
): R {
  if (scope.bare) return row;
  const scoped: Record<string, unknown> = { ...row };
  for (const column of columns) {
    const id = readId(row[column]);
    if (id !== undefined) scoped[column] = scopeId(scope, id);
  }
  return scoped as R;
}

/** The database's own id of a kept id of this source; undefined for another source's id. */
function ownPart(scope: SourceScope, kept: string): string | undefined {
  return ownsId(scope, kept) ? splitScopedId(kept).id : undefined;
}

/** The mark of one source inside a chain's mark; `lead` is the source whose mark the top level holds. */
function markOf(since: ChangeMark, key: string, lead: string): ChangeMark | undefined {
  const own = since.sources?.[key];
  const leadMark = since.sources?.[lead];
  // The runs move the top-level time back by the overlap: every source's mark moves as much.
  const shift = leadMark ? leadMark.at.getTime() - since.at.getTime() : 0;
  if (own)
    return {
      at: new Date(own.at.getTime() - shift),
      ...(own.rowVersion ? { rowVersion: own.rowVersion } : {}),
    };
  if (key === lead) return { at: since.at, ...(since.rowVersion ? { rowVersion: since.rowVersion } : {}) };
  return undefined;
}

/**
 * The patients of every source of a chain as one source: ids scoped by source, one mark holding
 * each database's own clock, every source read in turn. A source the mark does not know yet (added
 * to the chain since) is read whole.
 */
export class ChainPatientSource implements PatientSource {
  private readonly sources: readonly IdentSource[];
  private readonly lead: string;

  constructor(sources: readonly IdentSource[]) {
    if (sources.length === 0) throw new Error('a chain needs at least one source');
    this.sources = sources;
    this.lead = leadOf(sources);
  }

  async now(): Promise<ChangeMark> {
    const marks: Record<string, { at: Date; rowVersion?: string }> = {};
    for (const source of this.sources) marks[source.scope.key] = await source.patients.now();
    const lead = marks[this.lead]!;
    return { at: lead.at, ...(lead.rowVersion ? { rowVersion: lead.rowVersion } : {}), sources: marks };
  }

  async *changedSince(since: ChangeMark): AsyncGenerator<PatientRow> {
    for (const source of this.sources) {
      const mark = markOf(since, source.scope.key, this.lead);
      const rows = mark ? source.patients.changedSince(mark) : source.patients.all();
      for await (const row of rows) yield scopeRow(source.scope, row, ['PatientId']);
    }
  }

  async *all(): AsyncGenerator<PatientRow> {
    for (const source of this.sources)
      for await (const row of source.patients.all()) yield scopeRow(source.scope, row, ['PatientId']);
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    for (const source of this.sources) {
      const own = ownPart(source.scope, patientId);
      if (own === undefined) continue;
      const row = await source.patients.one(own);
      return row && scopeRow(source.scope, row, ['PatientId']);
    }
    return undefined;
  }

  rankOf(patientId: string): number | undefined {
    const rank = this.sources.findIndex((source) => ownsId(source.scope, patientId));
    return rank < 0 ? undefined : rank;
  }

  async stats(): Promise<{ patients: number; newestChange: Date | null }> {
    let patients = 0;
    let newestChange: Date | null = null;
    for (const source of this.sources) {
      const stats = await source.patients.stats();
      patients += stats.patients;
      if (stats.newestChange && (!newestChange || stats.newestChange > newestChange))
        newestChange = stats.newestChange;
    }
    return { patients, newestChange };
  }

  async close(): Promise<void> {
    for (const source of this.sources) await source.patients.close().catch(() => undefined);
  }
}

/** The receptions of every source of a chain as one source (ids and their patients' ids scoped). */
export class ChainReceptionSource implements ReceptionSource {
  private readonly sources: readonly (IdentSource & { receptions: ReceptionSource })[];
  private readonly lead: string;

  constructor(sources: readonly IdentSource[]) {
    const missing = sources.find((source) => !source.receptions);
    if (missing) throw new Error(`the source "${missing.scope.key}" has no reception source`);
    this.sources = sources as readonly (IdentSource & { receptions: ReceptionSource })[];
    this.lead = leadOf(sources);
  }

  async *changedSince(
    since: Date,
    windowStart: Date,
    sinceRowVersion?: string,
    marks?: ChangeMark['sources'],
  ): AsyncGenerator<ReceptionRow> {
    const chainMark: ChangeMark = {
      at: since,
      ...(sinceRowVersion ? { rowVersion: sinceRowVersion } : {}),
      ...(marks ? { sources: marks } : {}),
    };
    for (const source of this.sources) {
      const mark = markOf(chainMark, source.scope.key, this.lead);
      const rows = mark
        ? source.receptions.changedSince(mark.at, windowStart, mark.rowVersion)
        : source.receptions.window(windowStart);
      for await (const row of rows) yield scopeRow(source.scope, row, RECEPTION_IDS);
    }
  }

  async *window(windowStart: Date): AsyncGenerator<ReceptionRow> {
    for (const source of this.sources)
      for await (const row of source.receptions.window(windowStart))
        yield scopeRow(source.scope, row, RECEPTION_IDS);
  }

  async one(receptionId: string): Promise<ReceptionRow | undefined> {
    for (const source of this.sources) {
      const own = ownPart(source.scope, receptionId);
      if (own === undefined) continue;
      const row = await source.receptions.one(own);
      return row && scopeRow(source.scope, row, RECEPTION_IDS);
    }
    return undefined;
  }
}

const RECEPTION_IDS = ['ReceptionId', 'PatientId'] as const;

/** The source whose mark a chain's checkpoint keeps at its top level: the one with bare ids, else the first. */
function leadOf(sources: readonly IdentSource[]): string {
  return (sources.find((source) => source.scope.bare) ?? sources[0]!).scope.key;
}
