import { optionText } from '../../mapping/mapper.ts';
import { ActionableError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import { documentFromLead } from '../../mapping/compare.ts';
import type { DealDocument, ResolvedDealMap } from '../../mapping/deal-mapper.ts';
import { withRunLock } from '../../state/locks.ts';
import type { SyncContext } from '../../streams/runner/context.ts';
import { leadRefresher } from '../../streams/deals/lead-form.ts';
import { decideStage } from '../../streams/deals/placement.ts';
import { formatTable } from '../table.ts';

/**
 * What may be shown of a reception without --show-personal-data: when and where it is, its
 * doctor, state and sum. The patient stays a number; the services and the cancel reason (health
 * information) are masked.
 */
const RECEPTION_VISIBLE = new Set([
  'ReceptionId',
  'PatientId',
  'PlanStart',
  'PlanEnd',
  'Doctor',
  'Chair',
  'Branch',
  'CanceledAt',
  'EndedAt',
  'ArrivedAt',
  'Sum',
  'PreviousVisitAt',
  'ChangedAt',
  'name',
  'price',
  'reception_id',
  'visit_at',
  'doctor',
  'branch',
  'chair',
]);

export interface ReceptionTestOptions {
  receptionId: string;
  dryRun: boolean;
  shown: (key: string, value: unknown, visible?: ReadonlySet<string>) => string;
  stateDir: string;
  timeZone: string;
  logger: Logger;
}

/** `ident-sync test --reception-id N`: the row, the deal, where it stands, what the sync does, the result. */
export async function testReception(context: SyncContext, options: ReceptionTestOptions): Promise<number> {
  if (!context.dealsWanted)
    throw new ActionableError('receptions are not synced; set SYNC_RECEPTIONS=true to try one', {
      exitCode: 2,
    });
  const deals = await context.readyDeals();
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const shown = (key: string, value: unknown) => options.shown(key, value, RECEPTION_VISIBLE);
  const row = await deals.source.one(options.receptionId);
  if (!row)
    throw new ActionableError(
      `IDENT has no reception with id ${options.receptionId}; check the id (Receptions.ID)`,
    );
  out('Reception read from IDENT:');
  out(
    formatTable(
      ['column', 'value'],
      Object.entries(row).map(([key, value]) => [key, shown(key, value)]),
    ),
  );
  out();
  const outcome = deals.mapper(row);
  if (!outcome.ok) {
    out(`The reception cannot be mapped: ${outcome.reason}`);
    return 1;
  }
  const deal = outcome.deal;
  const names = new Map(
    deals.resolved.fields.map((field) => [field.spec.key, `${field.spec.name} (#${field.fieldId})`]),
  );
  const pipeline = deals.resolved.pipelines.byId(deal.placement.pipelineId)!;
  out('Deal payload:');
  out(
    formatTable(
      ['field', 'value'],
      [
        ...dealRows(deal.document, names, shown),
        [
          'pipeline',
          `${pipeline.name} (${deal.placement.role}: ${deal.placement.role === 'primary' ? 'no completed visit before' : 'a completed visit before'})`,
        ],
        ['stage', `${deal.placement.stage.name} (state: ${deal.placement.state})`],
      ],
    ),
  );
  for (const note of deal.notes) out(`  note: ${note.field}: ${note.note}`);
  out();
  const contact = context.store.link(deal.patientId);
  out(
    contact
      ? `Patient ${deal.patientId}: amoCRM contact ${contact.contactId}.`
      : `Patient ${deal.patientId} has no amoCRM contact yet: it is synced first.`,
  );

  const result = await withRunLock(options.stateDir, async () => {
    await leadRefresher(
      context.client.leads,
      context.store.leadMirror,
      { resolved: deals.resolved, timeZone: options.timeZone },
      options.logger,
    ).refresh(false);
    const link = context.store.deals.links([deal.receptionId]).get(deal.receptionId);
    const leadId = link?.leadId ?? context.store.leadMirror.byReception(deal.receptionId)[0]?.leadId;
    const existing = leadId ? await context.client.leads.getOne(leadId) : undefined;
    if (existing) {
      const theirs = documentFromLead(existing, deals.resolved.fields, options.timeZone);
      const differ = differingFields(deal.document, theirs);
      out(
        `amoCRM deal ${existing.id}: ${stageName(deals.resolved, existing.pipeline_id, existing.status_id)}; ${differ.length === 0 ? 'holds exactly this data' : `${differ.length} field(s) differ`}`,
      );
      if (differ.length > 0)
        out(
          formatTable(
            ['field', 'IDENT (will be sent)', 'amoCRM now'],
            differ.map(([key, ours, now]) => [names.get(key) ?? key, shown(key, ours), shown(key, now)]),
          ),
        );
      const stage = decideStage(
        deal.placement,
        link,
        { pipelineId: existing.pipeline_id, statusId: existing.status_id },
        deals.resolved,
      );
      out(
        stage.move
          ? `Stage: moves to ${stageName(deals.resolved, stage.move.pipelineId, stage.move.statusId)}.`
          : `Stage: stays (${stage.reason ?? 'already there'}).`,
      );
    } else
      out(
        'amoCRM has no deal for this reception yet: it takes over an open lead of the contact, or a new one is created.',
      );
    out();
    return context
      .newDealRun({ dryRun: options.dryRun })
      .run({ kind: 'single', receptionId: deal.receptionId });
  });
  const reception = result.reception;
  const verb = options.dryRun ? 'would be' : 'was';
  out(
    `Result: the deal ${verb} ${reception?.action ?? result.outcome}${reception?.reason ? ` (${reception.reason})` : ''}.`,
  );
  if (reception?.leadId)
    out(`Deal ${reception.leadId}: ${context.client.http.baseUrl}/leads/detail/${reception.leadId}`);
  if (result.outcome === 'failed' && result.error) throw result.error;
  return result.outcome === 'ok' && reception?.action !== 'failed' ? 0 : 1;
}

function dealRows(
  document: DealDocument,
  names: Map<string, string>,
  shown: (key: string, value: unknown) => string,
): string[][] {
  return [
    ['name', shown('name', document.name)],
    ['price', shown('price', document.price)],
    ...document.fields.map((field) => [
      names.get(field.key) ?? field.key,
      shown(
        field.key,
        typeof field.value === 'object' && field.value !== null ? optionText(field.value) : field.value,
      ),
    ]),
  ];
}

function differingFields(ours: DealDocument, theirs: DealDocument): [string, unknown, unknown][] {
  const out: [string, unknown, unknown][] = [];
  if (ours.name !== theirs.name) out.push(['name', ours.name, theirs.name]);
  if (ours.price !== theirs.price) out.push(['price', ours.price, theirs.price]);
  const held = new Map(theirs.fields.map((field) => [field.key, field.value]));
  for (const field of ours.fields)
    if (JSON.stringify(field.value) !== JSON.stringify(held.get(field.key) ?? null))
      out.push([field.key, field.value, held.get(field.key) ?? null]);
  return out;
}

function stageName(resolved: ResolvedDealMap, pipelineId: number, statusId: number): string {
  const pipeline = resolved.pipelines.byId(pipelineId);
  const stage = pipeline?.stages.find((candidate) => candidate.id === statusId);
  return `${pipeline?.name ?? `pipeline ${pipelineId}`} → ${stage?.name ?? `stage ${statusId}`}`;
}
