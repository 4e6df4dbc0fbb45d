import { MirrorTable, type Sql, type Transaction } from './mirror-table.ts';

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

const META_KEYS = {
  fullAt: 'lead_mirror_full_at',
  watermark: 'lead_mirror_watermark',
  maxId: 'lead_mirror_max_id',
  form: 'lead_mirror_form',
  generation: 'lead_mirror_generation',
} as const;

interface StoredRow {
  lead_id: number;
  reception_id: string | null;
  contact_id: number | null;
  pipeline_id: number;
  status_id: number;
  hash: string;
  updated_at: number;
}

const toRow = (row: StoredRow): LeadRow => ({
  leadId: row.lead_id,
  receptionId: row.reception_id,
  contactId: row.contact_id,
  pipelineId: row.pipeline_id,
  statusId: row.status_id,
  hash: row.hash,
  updatedAt: row.updated_at,
});

export class LeadMirror extends MirrorTable {
  constructor(sql: Sql, transaction: Transaction, readOnly: boolean) {
    super(sql, transaction, readOnly, { table: 'mirror_leads', idColumn: 'lead_id', keys: META_KEYS });
  }

  createSchema(exec: (script: string) => void): void {
    exec(SCHEMA);
  }

  /** Stores deals as read (one transaction), marked with `generation`. */
  upsert(rows: readonly LeadRow[], generation: number): void {
    if (rows.length === 0) return;
    this.transaction(() => {
      const insert = this.sql(
        `INSERT INTO mirror_leads (lead_id, reception_id, contact_id, pipeline_id, status_id, hash, updated_at, generation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (lead_id) DO UPDATE SET reception_id = excluded.reception_id, contact_id = excluded.contact_id,
           pipeline_id = excluded.pipeline_id, status_id = excluded.status_id, hash = excluded.hash,
           updated_at = excluded.updated_at, generation = excluded.generation`,
      );
      for (const row of rows)
        insert.run(
          row.leadId,
          row.receptionId,
          row.contactId,
          row.pipelineId,
          row.statusId,
          row.hash,
          row.updatedAt,
          generation,
        );
      this.noteMaxId(rows.map((row) => row.leadId));
    });
  }

  /** What the sync just wrote: until the next refresh reads amoCRM's copy, the mirror holds what was sent. */
  recordWrites(written: readonly Omit<LeadRow, 'updatedAt'>[]): void {
    if (written.length === 0) return;
    const current = this.get(written.map((entry) => entry.leadId));
    this.upsert(
      written.map((entry) => ({ ...entry, updatedAt: current.get(entry.leadId)?.updatedAt ?? 0 })),
      this.state().generation,
    );
  }

  /** A deal about to be taken over by a reception carries its id from now on: no other reception takes it. */
  claim(leadId: number, receptionId: string): void {
    this.sql('UPDATE mirror_leads SET reception_id = ? WHERE lead_id = ?').run(receptionId, leadId);
  }

  get(leadIds: readonly number[]): Map<number, LeadRow> {
    const found = new Map<number, LeadRow>();
    if (leadIds.length === 0) return found;
    const rows = this.sql('SELECT * FROM mirror_leads WHERE lead_id IN (SELECT value FROM json_each(?))').all(
      JSON.stringify(leadIds),
    ) as unknown as StoredRow[];
    for (const row of rows) found.set(row.lead_id, toRow(row));
    return found;
  }

  /** Deals carrying this reception id, oldest first. */
  byReception(receptionId: string): LeadRow[] {
    return (
      this.sql('SELECT * FROM mirror_leads WHERE reception_id = ? ORDER BY lead_id').all(
        receptionId,
      ) as unknown as StoredRow[]
    ).map(toRow);
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
      `SELECT * FROM mirror_leads WHERE contact_id = ? AND reception_id IS NULL
         AND pipeline_id IN (SELECT value FROM json_each(?)) AND status_id NOT IN (SELECT value FROM json_each(?))
       ORDER BY lead_id LIMIT 1`,
    ).get(contactId, JSON.stringify(pipelineIds), JSON.stringify(closed)) as StoredRow | undefined;
    return row ? toRow(row) : undefined;
  }

  /** Reception ids carried by more than one deal. */
  duplicates(): { receptionId: string; leadIds: number[] }[] {
    return (
      this.sql(
        'SELECT reception_id, group_concat(lead_id) AS ids FROM mirror_leads WHERE reception_id IS NOT NULL GROUP BY reception_id HAVING count(*) > 1',
      ).all() as { reception_id: string; ids: string }[]
    ).map((row) => ({
      receptionId: row.reception_id,
      leadIds: row.ids
        .split(',')
        .map(Number)
        .sort((a, b) => a - b),
    }));
  }
}
