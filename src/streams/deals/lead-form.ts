import { fieldValues } from '../../amocrm/entities.ts';
import { mainContactOf } from '../../amocrm/leads.ts';
import type { Lead } from '../../amocrm/types.ts';
import { documentFromLead } from '../../mapping/compare.ts';
import { dealHash, type ResolvedDealMap } from '../../mapping/deal-mapper.ts';
import type { Logger } from '../../logging/logger.ts';
import type { LeadMirror, LeadRow } from '../../state/lead-mirror.ts';
import { ListingRefresher, type ReadForm, refresherParts } from '../runner/listing-refresh.ts';
import type { LeadsApi } from '../../amocrm/leads.ts';

/** The deal map and zone deals are read in. */
export type LeadForm = ReadForm<ResolvedDealMap>;

/** Bump when the way a deal is read into the mirror changes: every deal mirror is then rebuilt. */
const FORM_VERSION = 1;

/** The field that carries the reception id: the link between a reception and its deal. */
export function receptionFieldId(resolved: ResolvedDealMap): number {
  const field = resolved.fields.find((candidate) => candidate.spec.key === 'reception_id');
  if (!field) throw new Error('the deal map has no reception_id field');
  return field.fieldId;
}

/** One deal as the mirror keeps it. */
export function leadRowOf(
  lead: Lead,
  form: LeadForm,
  receptionField = receptionFieldId(form.resolved),
): LeadRow {
  return {
    leadId: lead.id,
    receptionId:
      fieldValues(lead, { fieldId: receptionField })[0]
        ?.trim()
        .replace(/^0+(?=\d)/, '') || null,
    contactId: mainContactOf(lead) ?? null,
    pipelineId: lead.pipeline_id,
    statusId: lead.status_id,
    hash: dealHash(documentFromLead(lead, form.resolved.fields, form.timeZone)),
    updatedAt: lead.updated_at ?? 0,
  };
}

/** Keeps the deals' mirror up to date with amoCRM (see ListingRefresher). */
export function leadRefresher(
  leads: LeadsApi,
  mirror: LeadMirror,
  form: LeadForm,
  logger: Logger,
): ListingRefresher<Lead> {
  const receptionField = receptionFieldId(form.resolved);
  const rowOf = (lead: Lead) => leadRowOf(lead, form, receptionField);
  return new ListingRefresher<Lead>(
    refresherParts({ api: leads, mirror, form, version: FORM_VERSION, rowOf, logger }),
  );
}
