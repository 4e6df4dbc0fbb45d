import { MirrorTable, mirrorMetaKeys } from './stream/mirror-base.ts';
import type { StateAccess } from './stream/sql.ts';

/**
 * amoCRM's deals as the sync last read them: for each, the IDENT reception id it carries, its
 * contact, its pipeline and stage, the hash of its content in the deal map's form, `updated_at`.
 * Every lookup the deal sync needs — the deal of a reception, an open deal of a contact that no
 * reception has taken yet, "did my create land", "did a manager move it" — is answered here.
 */
export interface LeadRow {
  leadId: number;
  receptionId: string | null;
  /** The deal's main contact (or its first), if it has one. */
  contactId: number | null;
  pipelineId: number;
  statusId: number;
  hash: string;
  updatedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mirror_leads (
  lead_id INTEGER PRIMARY KEY,
  reception_id TEXT,
  contact_id INTEGER,
  pipeline_id INTEGER NOT NULL,
  status_id INTEGER NOT NULL,
  hash TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  generation INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mirror_leads_reception ON mirror_leads (reception_id) WHERE reception_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS mirror_leads_free ON mirror_leads (contact_id) WHERE reception_id IS NULL;
CREATE INDEX IF NOT EXISTS mirror_leads_generation ON mirror_leads (generation);
`;

/** Each column of a deal's row and its field: a row reads back as it is stored. */
const FIELDS = {
  lead_id: 'leadId',
  reception_id: 'receptionId',
  contact_id: 'contactId',
  pipeline_id: 'pipelineId',
  status_id: 'statusId',
  hash: 'hash',
  updated_at: 'updatedAt',
} as const satisfies Record<string, keyof LeadRow>;

const SELECT = Object.entries(FIELDS)
  .map(([column, field]) => `${column} AS ${field}`)
  .join(', ');

const asLead = (row: Record<string, unknown>) => ({ ...row }) as unknown as LeadRow;

export class LeadMirror extends MirrorTable<LeadRow> {
  constructor(access: StateAccess) {
    super(access, {
      table: 'mirror_leads',
      id: { name: 'lead_id', value: (row) => row.leadId },
      keyColumn: 'reception_id',
      keys: mirrorMetaKeys('lead_mirror', 'lead_mirror_max_id'),
      columns: Object.entries(FIELDS)
        .filter(([column]) => column !== 'lead_id')
        .map(([name, field]) => ({ name, value: (row: LeadRow) => row[field] })),
      select: SELECT,
      read: asLead,
    });
  }

  createSchema(exec: (script: string) => void): void {
    exec(SCHEMA);
  }

  /** What the sync just wrote: until the next refresh reads amoCRM's copy, the mirror holds what was sent. */
  recordWrites(written: readonly Omit<LeadRow, 'updatedAt'>[]): void {
    this.rewrite(
      written,
      (entry) => entry.leadId,
      (entry, before) => ({ ...entry, updatedAt: before?.updatedAt ?? 0 }),
    );
  }

  /** Deals carrying this reception id, oldest first. */
  byReception(receptionId: string): LeadRow[] {
    return this.sql(`SELECT ${SELECT} FROM mirror_leads WHERE reception_id = ? ORDER BY lead_id`)
      .all(receptionId)
      .map(asLead);
  }

  /**
   * The oldest deal of this contact that carries no reception id and is open (not won, not lost)
   * in one of these pipelines: a lead a call or a site form made, for the first reception to take.
   */
  openLeadOf(
    contactId: number,
    pipelineIds: readonly number[],
    closed: readonly number[],
  ): LeadRow | undefined {
    const row = this.sql(
      `SELECT ${SELECT} FROM mirror_leads WHERE contact_id = ? AND reception_id IS NULL
         AND pipeline_id IN (SELECT value FROM json_each(?)) AND status_id NOT IN (SELECT value FROM json_each(?))
       ORDER BY lead_id LIMIT 1`,
    ).get(contactId, JSON.stringify(pipelineIds), JSON.stringify(closed));
    return row ? asLead(row) : undefined;
  }

  /** Reception ids carried by more than one deal. */
  duplicates(): { receptionId: string; leadIds: number[] }[] {
    return [...this.keyGroups(true)].map(({ key, ids }) => ({ receptionId: key, leadIds: ids }));
  }
}
