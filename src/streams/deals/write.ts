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
import type { ListingRefresher } from '../runner/listing-refresh.ts';
import type { PendingClock, SentStamp } from '../runner/pending-age.ts';
import type { Refused } from '../runner/refusals.ts';
import { type PreparedWrite, StreamWriter, type StreamWriterOptions } from '../runner/writer.ts';
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

interface Prepared<Body> extends PreparedWrite<Body, MappedDeal> {
  leadId?: number;
  contactId: number | null;
  after: Position;
  action: DealAction;
  /** The stage this write sends the deal to, if it sends one: the sync's own placing. */
  placed?: Position;
}

type DealWrites = {
  mapped: MappedDeal;
  update: DealUpdateItem;
  create: DealCreateItem;
  updateBody: LeadUpdate;
  createBody: LeadCreate;
  preparedUpdate: Prepared<LeadUpdate>;
  preparedCreate: Prepared<LeadCreate>;
  pending: DealPending;
};

/**
 * How deals are written (the shared machinery is `StreamWriter`): a move notes where it sends the
 * deal before the request; a link holds the reception's state and where the sync placed the deal.
 */
export class DealWriter extends StreamWriter<DealWrites> {
  protected readonly noun = 'deal';
  protected readonly keyName = 'receptionId';
  protected readonly droppable = ['price'];
  private readonly dealDeps: {
    leads: LeadsApi;
    store: StateStore;
    refresher: ListingRefresher<Lead>;
    resolved: ResolvedDealMap;
    logger: Logger;
    /** Stamps creates when sent and judges how old pending ones are. */
    time: PendingClock;
  };
  private readonly report: DealWriteReport;

  constructor(deps: DealWriter['dealDeps'], options: StreamWriterOptions, report: DealWriteReport) {
    super(
      {
        entity: deps.leads,
        refresher: deps.refresher,
        fields: deps.resolved.fields,
        logger: deps.logger,
        time: deps.time,
      },
      options,
    );
    this.dealDeps = deps;
    this.report = report;
  }

  protected keyOf(deal: MappedDeal): string {
    return deal.receptionId;
  }

  protected targetOf(item: Prepared<LeadUpdate>): number {
    return item.leadId!;
  }

  protected dryUpdate(item: DealUpdateItem): void {
    this.report.done(item.deal, item.action, item.leadId);
  }

  protected dryCreate(deal: MappedDeal): void {
    this.report.done(deal, 'created', 0);
  }

  protected uncertain(deal: MappedDeal): void {
    this.report.uncertain(deal);
  }

  protected reportFailed(failures: readonly { key: string; reason: string }[]): void {
    this.report.failed(failures.map(({ key, reason }) => ({ receptionId: key, reason })));
  }

  protected carriersOf(receptionId: string): number[] {
    const first = this.dealDeps.store.leadMirror.byReception(receptionId)[0];
    return first ? [first.leadId] : [];
  }

  protected knownMaxId(): number {
    return this.dealDeps.store.leadMirror.state().maxId;
  }

  // ── creates left by an earlier run ─────────────────────────────────────────────────────────
  protected pendingKey(entry: DealPending): string {
    return entry.receptionId;
  }

  protected restampPending(
    entries: readonly { key: string; sent: SentStamp; refused?: readonly Refused[] }[],
  ): void {
    this.dealDeps.store.deals.restampPending(
      entries.map(({ key, ...rest }) => ({ receptionId: key, ...rest })),
    );
  }

  protected settlePending(
    found: readonly { entry: DealPending; id: number }[],
    lost: readonly { key: string; reason: string; dueNow: true }[],
  ): void {
    this.dealDeps.store.deals.saveLinks(
      found.map(({ entry, id }) => {
        const {
          requestId: _requestId,
          knownMaxId: _knownMaxId,
          createdAt: _createdAt,
          sent: _sent,
          ...link
        } = entry;
        return { ...link, leadId: id, placed: { pipelineId: link.pipelineId, statusId: link.statusId } };
      }),
    );
    this.dealDeps.store.deals.recordFailures(
      lost.map(({ key, ...rest }) => ({ receptionId: key, ...rest })),
      new Date(this.dealDeps.time.clock.now()),
    );
  }

  // ── updates ────────────────────────────────────────────────────────────────────────────────
  protected async prepareUpdates(batch: DealUpdateItem[]): Promise<Prepared<LeadUpdate>[]> {
    // Where each move sends its deal, noted before the request (a won or lost the sync may undo later).
    this.dealDeps.store.deals.notePlacing(
      batch.flatMap((item) => (item.move ? [{ receptionId: item.deal.receptionId, ...item.move }] : [])),
    );
    return batch.map((item) => ({
      requestId: `u${item.deal.receptionId}`,
      body: toLeadUpdate(item.deal, item.leadId, item.move),
      mapped: item.deal,
      leadId: item.leadId,
      contactId: item.contactId,
      after: item.after,
      action: item.action,
      refused: [],
      ...(item.move ? { placed: item.move } : {}),
    }));
  }

  protected updated(items: readonly Prepared<LeadUpdate>[]): void {
    this.written(items.map((item) => ({ item, id: item.leadId! })));
  }

  protected async gone(deal: MappedDeal, leadId: number): Promise<void> {
    this.dealDeps.store.deals.unlinkForRetry(
      deal.receptionId,
      `amoCRM deal ${leadId} was deleted; the reception is matched again`,
    );
    this.dealDeps.store.leadMirror.remove([leadId]);
    this.dealDeps.logger.warn(
      { receptionId: deal.receptionId, leadId },
      'the amoCRM deal no longer exists; the reception is matched again',
    );
    await this.report.resolveAgain(deal, leadId);
  }

  // ── creates ────────────────────────────────────────────────────────────────────────────────
  protected prepareCreate({ deal, contactId }: DealCreateItem): Prepared<LeadCreate> {
    return {
      requestId: `c${deal.receptionId}`,
      body: toLeadCreate(deal, contactId),
      mapped: deal,
      contactId,
      after: { pipelineId: deal.placement.pipelineId, statusId: deal.placement.stage.id },
      action: 'created',
      refused: [],
      placed: { pipelineId: deal.placement.pipelineId, statusId: deal.placement.stage.id },
    };
  }

  protected addPending(items: readonly Prepared<LeadCreate>[], knownMaxId: number, sent: SentStamp): void {
    this.dealDeps.store.deals.addPending(
      items.map((item) => ({ ...linkOf(item), requestId: item.requestId, knownMaxId })),
      sent,
    );
  }

  protected created(done: readonly { item: Prepared<LeadCreate>; id: number }[]): void {
    this.written(done);
  }

  /** Links and the mirror after a write amoCRM took, in one transaction each. */
  private written(done: readonly { item: Prepared<LeadCreate | LeadUpdate>; id: number }[]): void {
    if (done.length === 0) return;
    this.dealDeps.store.deals.saveLinks(
      done.map(({ item, id }) => ({
        ...linkOf(item),
        leadId: id,
        refused: item.refused,
        ...(item.placed ? { placed: item.placed } : {}),
        // An update ends the refusals of what it carried; a create, all (a new deal).
        ...(item.action === 'created'
          ? {}
          : { landed: landedOf(item.body, (entry) => this.fieldKey(entry)) }),
      })),
      new Date(this.dealDeps.time.clock.now()),
    );
    this.dealDeps.store.leadMirror.recordWrites(
      done.map(({ item, id }) => ({
        leadId: id,
        receptionId: item.mapped.receptionId,
        contactId: item.contactId,
        pipelineId: item.after.pipelineId,
        statusId: item.after.statusId,
        hash: item.mapped.hash,
      })),
    );
    for (const { item, id } of done) {
      this.noteRefused(item);
      this.report.done(item.mapped, item.action, id);
    }
  }
}

/** The fields a deal write carried, by key: their earlier refusals end once amoCRM takes it. */
function landedOf(body: LeadCreate | LeadUpdate, keyOf: (entry: { field_id?: number }) => string): string[] {
  return [
    ...(body.custom_fields_values ?? []).map((entry) => keyOf(entry)),
    ...('price' in body ? ['price'] : []),
  ];
}

/** The link a write leaves: what was sent, and the reception's state and pipeline it was placed by. */
function linkOf(item: Prepared<unknown>): Omit<SavedDealLink, 'leadId'> {
  return {
    receptionId: item.mapped.receptionId,
    patientId: item.mapped.patientId,
    hash: item.mapped.hash,
    state: item.mapped.placement.state,
    role: item.mapped.placement.role,
    pipelineId: item.after.pipelineId,
    statusId: item.after.statusId,
  };
}
