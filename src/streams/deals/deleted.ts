import { LOST_STATUS_ID } from '../../amocrm/types.ts';
import type { LeadsApi } from '../../amocrm/leads.ts';
import type { Logger } from '../../logging/logger.ts';
import { deletedRule } from '../../mapping/deal-map.ts';
import type { ResolvedDealMap } from '../../mapping/deal-mapper.ts';
import type { StateStore } from '../../state/store.ts';
import { describe } from '../runner/refusals.ts';

/**
 * The deal of a reception IDENT no longer has: closed as lost in its pipeline, with the deal map's
 * reason text (never deleted). The reception is marked deleted in the state before the request
 * (with the lost stage as the sync's own placing, so a reception restored later reopens it); once
 * amoCRM takes the close, the mark says so, and a deal a manager reopens afterwards is left alone.
 */
export class DeletedReceptionCloser {
  private readonly deps: { leads: LeadsApi; store: StateStore; resolved: ResolvedDealMap; logger: Logger };

  constructor(deps: DeletedReceptionCloser['deps']) {
    this.deps = deps;
  }

  /** True once amoCRM holds the deal closed; false when it must be tried again (a later deep sync does). */
  async close(entry: { receptionId: string; leadId: number; pipelineId: number }): Promise<boolean> {
    const { leads, store, resolved, logger } = this.deps;
    const rule = deletedRule(resolved.map);
    const field = resolved.fields.find((candidate) => candidate.spec.key === rule.field);
    store.deals.markDeleted(entry.receptionId, entry.pipelineId);
    const outcome = await leads.write('patch', [
      {
        requestId: `d${entry.receptionId}`,
        body: {
          id: entry.leadId,
          pipeline_id: entry.pipelineId,
          status_id: LOST_STATUS_ID,
          ...(field
            ? { custom_fields_values: [{ field_id: field.fieldId, values: [{ value: rule.reason }] }] }
            : {}),
        },
      },
    ]);
    if (outcome.kind === 'stored') {
      store.deals.deletedClosed(entry.receptionId, entry.leadId, entry.pipelineId);
      logger.info(
        { receptionId: entry.receptionId, leadId: entry.leadId },
        'the reception was deleted in IDENT: its deal is closed as lost',
      );
      return true;
    }
    logger.warn(
      { receptionId: entry.receptionId, leadId: entry.leadId, reason: describe(outcome, 'deal') },
      'the deal of a reception deleted in IDENT could not be closed; the next deep sync tries again',
    );
    return false;
  }
}
