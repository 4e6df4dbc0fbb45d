import type { LeadsApi } from '../../amocrm/leads.ts';
import type { Logger } from '../../logging/logger.ts';
import type { DealRelink } from '../../state/deals.ts';
import type { StateStore } from '../../state/store.ts';
import { describe } from '../runner/refusals.ts';

/**
 * A visit moved to another patient in IDENT (or two patients merged): its deal follows to the new
 * patient's contact. The intent is written to the state before any request; then the new contact
 * is linked as main and the old one unlinked (neither is deleted); once both are taken the intent
 * ends and the link names the new patient, in one transaction. A crash in between is finished by
 * the next run (`replay`): linking and unlinking again change nothing.
 */
export class DealRelinker {
  private readonly deps: { leads: LeadsApi; store: StateStore; logger: Logger };

  constructor(deps: DealRelinker['deps']) {
    this.deps = deps;
  }

  /**
   * Re-links an earlier run began; returns the receptions whose re-link is still not done. Unlinks
   * amoCRM refused are tried again only when `deep`.
   */
  async replay(deep: boolean): Promise<{ done: number; failed: { receptionId: string; reason: string }[] }> {
    let done = 0;
    const failed: { receptionId: string; reason: string }[] = [];
    for (const relink of this.deps.store.deals.relinks({ withRefusedUnlinks: deep })) {
      const reason = await this.send(relink);
      if (reason === undefined) done += 1;
      else failed.push({ receptionId: relink.receptionId, reason });
    }
    return { done, failed };
  }

  /** Records the intent, then sends it: undefined when amoCRM holds it, else why not. */
  async relink(relink: DealRelink): Promise<string | undefined> {
    this.deps.store.deals.addRelink(relink);
    return this.send(relink);
  }

  private async send(relink: DealRelink): Promise<string | undefined> {
    const { leads, store, logger } = this.deps;
    const linked = await leads.linkMainContact(relink.leadId, relink.toContactId);
    const unlinked =
      linked.kind !== 'stored' || relink.fromContactId === null || relink.fromContactId === relink.toContactId
        ? linked
        : await leads.unlinkContact(relink.leadId, relink.fromContactId);
    if (unlinked.kind === 'stored') {
      store.deals.finishRelink(relink);
      logger.info(
        { receptionId: relink.receptionId, leadId: relink.leadId },
        'the deal follows its reception to another patient: re-linked to that contact',
      );
      return undefined;
    }
    // The new contact is main but the old one stays: the unlink alone is tried again by deep syncs
    // (the next run would see the new main contact and take the move for done).
    if (linked.kind === 'stored' && unlinked.kind !== 'uncertain') store.deals.unlinkRefused(relink);
    // A refused link ends the intent (the reception is retried from what IDENT says then); an
    // answer that never came keeps it for the next run.
    else if (unlinked.kind !== 'uncertain') store.deals.dropRelink(relink.receptionId);
    return `amoCRM did not re-link deal ${relink.leadId} to the new patient's contact: ${describe(unlinked, 'deal')}`;
  }
}
