import type { ValidationProblem } from '../../amocrm/errors.ts';
import type { BatchItem } from '../../amocrm/entities.ts';
import type { LeadsApi } from '../../amocrm/leads.ts';
import type { Lead, LeadCreate, LeadUpdate } from '../../amocrm/types.ts';
import type { Logger } from '../../logging/logger.ts';
import {
  type MappedDeal,
  type ResolvedDealMap,
  toLeadCreate,
  toLeadUpdate,
} from '../../mapping/deal-mapper.ts';
import type { DealPending, SavedDealLink } from '../../state/deals.ts';
import type { StateStore } from '../../state/store.ts';
import { InFlight } from '../runner/in-flight.ts';
import type { ListingRefresher } from '../runner/listing-refresh.ts';
import { judgePending, type PendingClock, type SentStamp, stampOf } from '../runner/pending-age.ts';
import {
  describe,
  inHalves,
  problemsByItem,
  type Refused,
  refusal,
  withoutRefusedValues,
} from '../runner/refusals.ts';
import type { Position } from './placement.ts';

export type DealAction = 'created' | 'updated' | 'moved' | 'linked' | 'repaired';

/** What the writer tells the run about each reception it was given. */
export interface DealWriteReport {
  done(deal: MappedDeal, action: DealAction, leadId: number): void;
  failed(failures: readonly { receptionId: string; reason: string }[]): void;
  /** A create whose answer was lost and which amoCRM does not show yet: left pending for the next run. */
  uncertain(deal: MappedDeal): void;
  /** The deal is gone from amoCRM: the run matches the reception again without it. */
  resolveAgain(deal: MappedDeal, goneLeadId: number): Promise<void>;
}

export interface DealUpdateItem {
  deal: MappedDeal;
  leadId: number;
  contactId: number | null;
  /** The pipeline and stage to send, when the deal moves. */
  move: Position | undefined;
  /** Where the deal is once written. */
  after: Position;
  action: Exclude<DealAction, 'created'>;
}

export interface DealCreateItem {
  deal: MappedDeal;
  contactId: number;
}

interface Prepared<Body> {
  requestId: string;
  body: Body;
  deal: MappedDeal;
  leadId?: number;
  contactId: number | null;
  after: Position;
  action: DealAction;
  refused: Refused[];
  /** The stage this write sends the deal to, if it sends one: the sync's own placing. */
  placed?: Position;
}

/** The fields a deal write carried, by key: their earlier refusals end once amoCRM takes it. */
function landedOf(body: LeadCreate | LeadUpdate, keyOf: (fieldId: number | undefined) => string): string[] {
  return [
    ...(body.custom_fields_values ?? []).map((entry) => keyOf(entry.field_id)),
    ...('price' in body ? ['price'] : []),
  ];
}

/** Refusal rounds and halvings one batch may go through before its remaining items are failed. */
const MAX_ROUNDS = 12;

/**
 * How deals are written, with the contact writer's rules: a create is recorded as pending before
 * the request and never sent twice without proof that the first did not land (the deals' mirror
 * is read newest first by id); a refused value costs that field of that deal; any other refusal is
 * narrowed by halving the batch; a deal deleted in amoCRM ends its link and is matched again.
 */
export class DealWriter {
  private readonly deps: {
    leads: LeadsApi;
    store: StateStore;
    refresher: ListingRefresher<Lead>;
    resolved: ResolvedDealMap;
    logger: Logger;
    /** Stamps creates when sent and judges how old pending ones are. */
    time: PendingClock;
  };
  private readonly options: { batchSize: number; dryRun: boolean; pendingWaitMs: number };
  private readonly report: DealWriteReport;
  private readonly updates: DealUpdateItem[] = [];
  private readonly creates: DealCreateItem[] = [];
  private readonly inFlight: InFlight;
  private readonly fieldKeys: Map<number, string>;

  constructor(
    deps: DealWriter['deps'],
    options: { batchSize: number; maxInFlight: number; dryRun: boolean; pendingWaitMs: number },
    report: DealWriteReport,
  ) {
    this.deps = deps;
    this.options = options;
    this.report = report;
    this.inFlight = new InFlight(options.maxInFlight);
    this.fieldKeys = new Map(deps.resolved.fields.map((field) => [field.fieldId, field.spec.key]));
  }

  get fatal(): Error | undefined {
    return this.inFlight.fatal;
  }

  async update(item: DealUpdateItem): Promise<void> {
    this.updates.push(item);
    if (this.updates.length >= this.options.batchSize)
      await this.inFlight.dispatch(this.sendUpdates(this.updates.splice(0)));
  }

  async create(item: DealCreateItem): Promise<void> {
    this.creates.push(item);
    if (this.creates.length >= this.options.batchSize)
      await this.inFlight.dispatch(this.sendCreates(this.creates.splice(0)));
  }

  async flush(): Promise<void> {
    if (!this.fatal) {
      if (this.updates.length > 0) await this.inFlight.dispatch(this.sendUpdates(this.updates.splice(0)));
      if (this.creates.length > 0) await this.inFlight.dispatch(this.sendCreates(this.creates.splice(0)));
    }
    await this.settle();
  }

  settle(): Promise<void> {
    return this.inFlight.settle();
  }

  /**
   * Creates an earlier run sent without learning their fate: found in amoCRM → linked; not there
   * and sent longer ago than the request timeout plus a margin (judged before the listing that
   * proves it absent begins) → due now, in the same transaction that ends the pending entry; a
   * younger one stays pending, as amoCRM may still apply it.
   */
  async confirmPending(
    pending: readonly DealPending[],
  ): Promise<{ confirmed: string[]; missing: number; waiting: string[] }> {
    if (pending.length === 0) return { confirmed: [], missing: 0, waiting: [] };
    const old = new Set<string>();
    const restamp: { receptionId: string; sent: SentStamp }[] = [];
    for (const entry of pending) {
      const age = judgePending(entry.sent, this.deps.time, this.options.pendingWaitMs);
      if (age.old) old.add(entry.receptionId);
      if (age.restamp) restamp.push({ receptionId: entry.receptionId, sent: age.restamp });
    }
    this.deps.store.deals.restampPending(restamp);
    // Begun after the ages were judged: what it does not list had had its time.
    await this.deps.refresher.newestAbove(Math.min(...pending.map((entry) => entry.knownMaxId)));
    const found: SavedDealLink[] = [];
    const missing: { receptionId: string; reason: string; dueNow: boolean }[] = [];
    const waiting: string[] = [];
    for (const entry of pending) {
      const carrier = this.deps.store.leadMirror.byReception(entry.receptionId)[0];
      if (!carrier) {
        if (!old.has(entry.receptionId)) waiting.push(entry.receptionId);
        else
          missing.push({
            receptionId: entry.receptionId,
            reason: 'a deal create sent earlier never reached amoCRM; it is sent again',
            dueNow: true,
          });
        continue;
      }
      const {
        requestId: _requestId,
        knownMaxId: _knownMaxId,
        createdAt: _createdAt,
        sent: _sent,
        ...link
      } = entry;
      found.push({
        ...link,
        leadId: carrier.leadId,
        placed: { pipelineId: link.pipelineId, statusId: link.statusId },
      });
    }
    this.deps.store.deals.saveLinks(found);
    this.deps.store.deals.recordFailures(missing);
    return { confirmed: found.map((link) => link.receptionId), missing: missing.length, waiting };
  }

  // ── updates ────────────────────────────────────────────────────────────────────────────────
  private async sendUpdates(batch: DealUpdateItem[]): Promise<void> {
    if (this.options.dryRun) {
      for (const item of batch) this.report.done(item.deal, item.action, item.leadId);
      return;
    }
    // Where each move sends its deal, noted before the request (a won or lost the sync may undo later).
    this.deps.store.deals.notePlacing(
      batch.flatMap((item) => (item.move ? [{ receptionId: item.deal.receptionId, ...item.move }] : [])),
    );
    await this.patch(
      batch.map((item) => ({
        requestId: `u${item.deal.receptionId}`,
        body: toLeadUpdate(item.deal, item.leadId, item.move),
        deal: item.deal,
        leadId: item.leadId,
        contactId: item.contactId,
        after: item.after,
        action: item.action,
        refused: [],
        ...(item.move ? { placed: item.move } : {}),
      })),
      0,
    );
  }

  private async patch(items: Prepared<LeadUpdate>[], round: number): Promise<void> {
    if (items.length === 0) return;
    if (round > MAX_ROUNDS) return this.failAll(items, 'amoCRM kept refusing the deal update');
    const outcome = await this.deps.leads.write('patch', items.map(asBatchItem));
    if (outcome.kind === 'stored') return this.written(items.map((item) => ({ item, leadId: item.leadId! })));
    if (outcome.kind === 'uncertain') throw outcome.error;
    const byItem = outcome.kind === 'refused' ? problemsByItem(items, outcome.problems) : undefined;
    if (byItem) {
      const next: Prepared<LeadUpdate>[] = [];
      for (const item of items) {
        const problems = byItem.get(item.requestId);
        if (!problems) next.push(item);
        else {
          const repaired = this.withoutRefused(item, problems);
          if (repaired === 'gone') await this.gone(item.deal, item.leadId!);
          else if (typeof repaired === 'string') this.fail(item, repaired);
          else next.push(repaired);
        }
      }
      return this.patch(next, round + 1);
    }
    if (items.length > 1) {
      await inHalves(items, (part) => this.patch(part, round + 1));
      return;
    }
    const [item] = items as [Prepared<LeadUpdate>];
    // amoCRM's answer to a PATCH of a deleted deal is not documented: whether it still exists decides.
    if (!(await this.deps.leads.getOne(item.leadId!))) return this.gone(item.deal, item.leadId!);
    this.fail(item, `amoCRM refused the deal update: ${describe(outcome, 'deal')}`);
  }

  private async gone(deal: MappedDeal, leadId: number): Promise<void> {
    this.deps.store.deals.unlinkForRetry(
      deal.receptionId,
      `amoCRM deal ${leadId} was deleted; the reception is matched again`,
    );
    this.deps.store.leadMirror.remove([leadId]);
    this.deps.logger.warn(
      { receptionId: deal.receptionId, leadId },
      'the amoCRM deal no longer exists; the reception is matched again',
    );
    await this.report.resolveAgain(deal, leadId);
  }

  // ── creates ────────────────────────────────────────────────────────────────────────────────
  private async sendCreates(batch: DealCreateItem[]): Promise<void> {
    if (this.options.dryRun) {
      for (const item of batch) this.report.done(item.deal, 'created', 0);
      return;
    }
    const knownMaxId = this.deps.store.leadMirror.state().maxId;
    const items: Prepared<LeadCreate>[] = batch.map(({ deal, contactId }) => ({
      requestId: `c${deal.receptionId}`,
      body: toLeadCreate(deal, contactId),
      deal,
      contactId,
      after: { pipelineId: deal.placement.pipelineId, statusId: deal.placement.stage.id },
      action: 'created',
      refused: [],
      placed: { pipelineId: deal.placement.pipelineId, statusId: deal.placement.stage.id },
    }));
    // Written before the request: after a crash or a lost answer these are looked up, not created again.
    this.deps.store.deals.addPending(
      items.map((item) => ({ ...linkOf(item), requestId: item.requestId, knownMaxId })),
      stampOf(this.deps.time),
    );
    await this.post(items, knownMaxId, 0);
  }

  private async post(items: Prepared<LeadCreate>[], knownMaxId: number, round: number): Promise<void> {
    if (items.length === 0) return;
    if (round > MAX_ROUNDS) return this.failAll(items, 'amoCRM kept refusing the new deal');
    // Sent again (without a refused value, or in halves): their wait counts from now.
    if (round > 0) {
      const sent = stampOf(this.deps.time);
      this.deps.store.deals.restampPending(
        items.map((item) => ({ receptionId: item.deal.receptionId, sent, refused: item.refused })),
      );
    }
    const outcome = await this.deps.leads.write('post', items.map(asBatchItem));
    if (outcome.kind === 'stored') {
      this.written(
        items
          .filter((item) => outcome.ids.has(item.requestId))
          .map((item) => ({ item, leadId: outcome.ids.get(item.requestId)! })),
      );
      // An answer that leaves items out says nothing of them: as for a lost answer.
      const unanswered = items.filter((item) => !outcome.ids.has(item.requestId));
      for (const item of await this.landed(unanswered, knownMaxId)) this.report.uncertain(item.deal);
      return;
    }
    if (outcome.kind === 'uncertain') {
      // The request may still be applied after we stopped waiting: what is not there yet stays
      // pending and is looked up again by the next run, never sent twice now.
      for (const item of await this.landed(items, knownMaxId)) this.report.uncertain(item.deal);
      return;
    }
    const byItem = outcome.kind === 'refused' ? problemsByItem(items, outcome.problems) : undefined;
    if (byItem) {
      // Whether amoCRM stored the others despite refusing the request is not documented: look first.
      const next = await this.landed(
        items.filter((item) => !byItem.has(item.requestId)),
        knownMaxId,
      );
      for (const item of items) {
        const problems = byItem.get(item.requestId);
        if (!problems) continue;
        const repaired = this.withoutRefused(item, problems);
        if (typeof repaired === 'string')
          this.fail(item, repaired === 'gone' ? refusal(problems, 'deal') : repaired);
        else next.push(repaired);
      }
      return this.post(next, knownMaxId, round + 1);
    }
    const notThere = await this.landed(items, knownMaxId);
    if (notThere.length > 1) {
      await inHalves(notThere, (part) => this.post(part, knownMaxId, round + 1));
      return;
    }
    for (const item of notThere) this.fail(item, `amoCRM refused the new deal: ${describe(outcome, 'deal')}`);
  }

  /** Which of these creates amoCRM holds after all (linked now); returns the ones it does not. */
  private async landed(items: Prepared<LeadCreate>[], knownMaxId: number): Promise<Prepared<LeadCreate>[]> {
    if (items.length === 0) return [];
    await this.deps.refresher.newestAbove(knownMaxId);
    const found: { item: Prepared<LeadCreate>; leadId: number }[] = [];
    const missing: Prepared<LeadCreate>[] = [];
    for (const item of items) {
      const carrier = this.deps.store.leadMirror.byReception(item.deal.receptionId)[0];
      if (carrier) found.push({ item, leadId: carrier.leadId });
      else missing.push(item);
    }
    this.written(found);
    return missing;
  }

  /** Links and the mirror after a write amoCRM took, in one transaction each. */
  private written(done: readonly { item: Prepared<unknown>; leadId: number }[]): void {
    if (done.length === 0) return;
    const keyOf = (fieldId: number | undefined) => this.fieldKeys.get(fieldId ?? -1) ?? `field ${fieldId}`;
    this.deps.store.deals.saveLinks(
      done.map(({ item, leadId }) => ({
        ...linkOf(item),
        leadId,
        refused: item.refused,
        ...(item.placed ? { placed: item.placed } : {}),
        // An update ends the refusals of what it carried; a create, all (a new deal).
        ...(item.action === 'created'
          ? {}
          : { landed: landedOf(item.body as LeadCreate | LeadUpdate, keyOf) }),
      })),
      new Date(this.deps.time.clock.now()),
    );
    this.deps.store.leadMirror.recordWrites(
      done.map(({ item, leadId }) => ({
        leadId,
        receptionId: item.deal.receptionId,
        contactId: item.contactId,
        pipelineId: item.after.pipelineId,
        statusId: item.after.statusId,
        hash: item.deal.hash,
      })),
    );
    for (const { item, leadId } of done) {
      if (item.refused.length > 0)
        this.deps.logger.warn(
          { receptionId: item.deal.receptionId, fields: item.refused.map((refused) => refused.field) },
          'amoCRM refused some values; the deal was written without them (`ident-sync status` lists them)',
        );
      this.report.done(item.deal, item.action, leadId);
    }
  }

  private withoutRefused<Body extends LeadCreate | LeadUpdate>(
    item: Prepared<Body>,
    problems: readonly ValidationProblem[],
  ): Prepared<Body> | 'gone' | string {
    const result = withoutRefusedValues(item.body, problems, {
      droppable: ['price'],
      keyOf: (entry) => this.fieldKeys.get(entry.field_id ?? -1) ?? `field ${entry.field_id}`,
      noun: 'deal',
    });
    if (typeof result === 'string') return result;
    return { ...item, body: result.body, refused: [...item.refused, ...result.refused] };
  }

  private fail(item: Prepared<unknown>, reason: string): void {
    this.report.failed([{ receptionId: item.deal.receptionId, reason }]);
  }

  private failAll(items: readonly Prepared<unknown>[], reason: string): void {
    this.report.failed(items.map((item) => ({ receptionId: item.deal.receptionId, reason })));
  }
}

/** The link a write leaves: what was sent, and the reception's state and pipeline it was placed by. */
function linkOf(item: Prepared<unknown>): Omit<SavedDealLink, 'leadId'> {
  return {
    receptionId: item.deal.receptionId,
    patientId: item.deal.patientId,
    hash: item.deal.hash,
    state: item.deal.placement.state,
    role: item.deal.placement.role,
    pipelineId: item.after.pipelineId,
    statusId: item.after.statusId,
  };
}

const asBatchItem = <Body>(item: Prepared<Body>): BatchItem<Body> => ({
  requestId: item.requestId,
  body: item.body,
});
