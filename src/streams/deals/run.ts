import type { ChangeMark } from '../../ident/patient-source.ts';
import { ProgressLine } from '../runner/progress.ts';
import type { LeadsApi } from '../../amocrm/leads.ts';
import { LOST_STATUS_ID, type Pipeline, WON_STATUS_ID } from '../../amocrm/types.ts';
import type { ReceptionSource } from '../../ident/reception-source.ts';
import type { Logger } from '../../logging/logger.ts';
import type {
  DealMapper,
  DealOutcome,
  MappedDeal,
  ReceptionRow,
  ResolvedDealMap,
} from '../../mapping/deal-mapper.ts';
import type { DealLink, DealPending } from '../../state/deals.ts';
import type { LeadRow } from '../../state/lead-mirror.ts';
import type { Checkpoint, StateStore } from '../../state/store.ts';
import { excusedAt } from '../runner/refusals.ts';
import type { Clock } from '../../support/clock.ts';
import { StreamRun } from '../runner/run.ts';
import { DealRelinker } from './relink.ts';
import { DeletedReceptionCloser } from './deleted.ts';
import { leadRefresher } from './lead-form.ts';
import { rereadPipelines } from './pipeline-reread.ts';
import { decideStage, type StageDecision } from './placement.ts';
import {
  mayTakeOver,
  nearestFirst,
  type TakeOverCandidate,
  type VisitTime,
  visitTimeOf,
} from './take-over.ts';
import { type DealAction, DealWriter, type DealWriteReport } from './write.ts';

export interface DealSyncDeps {
  source: ReceptionSource;
  mapper: DealMapper;
  resolved: ResolvedDealMap;
  timeZone: string;
  leads: LeadsApi;
  /** The account's pipelines, read again at the start of each run (absent: the ids resolved before stand). */
  readPipelines?: () => Promise<readonly Pipeline[]>;
  store: StateStore;
  logger: Logger;
  /** amoCRM requests sent so far by this process (for the run's count). */
  requestCount: () => number;
  /** The IDENT clock (the patient source's), for the checkpoint and the window. */
  now: () => Promise<ChangeMark>;
  /**
   * Syncs one patient's contact now (a reception whose patient has none yet): the contact id, or
   * undefined when the patient could not be synced.
   */
  ensureContact?: (patientId: string) => Promise<number | undefined>;
  /** Wall and monotonic time (a simulation steps them); the system's by default. */
  clock?: Clock;
  /** The boot the monotonic clock belongs to (`systemBootId()` by default). */
  boot?: string;
}

export interface DealSyncOptions {
  batchSize: number;
  overlapSeconds: number;
  /** Days before today (IDENT's clock) that deep syncs and the first run read. */
  daysBack: number;
  dryRun?: boolean;
  maxInFlight?: number;
  shouldStop?: () => boolean;
  /** The client's request timeout: a create not seen is lost only once older than this plus `pendingMarginMs`. */
  requestTimeoutMs?: number;
  pendingMarginMs?: number;
  /** Least time between two progress lines (5 s). */
  progressEveryMs?: number;
}

export type DealRequest =
  { kind: 'incremental' } | { kind: 'deep' } | { kind: 'single'; receptionId: string };
export type DealRunKind = 'initial' | 'incremental' | 'deep' | 'single';

export interface DealCounts {
  read: number;
  unchanged: number;
  created: number;
  updated: number;
  moved: number;
  linked: number;
  repaired: number;
  /** Deals re-linked to the contact of the patient their visit moved to. */
  relinked: number;
  /** Deals of receptions deleted in IDENT, closed as lost. */
  closed: number;
  failed: number;
  requests: number;
}

export const noDealCounts = (): DealCounts => ({
  read: 0,
  unchanged: 0,
  created: 0,
  updated: 0,
  moved: 0,
  linked: 0,
  repaired: 0,
  relinked: 0,
  closed: 0,
  failed: 0,
  requests: 0,
});

export interface DealSyncResult extends DealCounts {
  kind: DealRunKind;
  outcome: 'ok' | 'failed' | 'stopped';
  error?: Error;
  durationMs: number;
  /** Receptions carried by more than one deal (seen by deep syncs). */
  duplicates: number;
  /** Receptions whose deal create is sent but not seen in amoCRM yet: neither created nor failed. */
  pending: number;
  /** For a single reception: what happened to it. */
  reception?: {
    receptionId: string;
    leadId?: number;
    action: DealAction | 'unchanged' | 'failed' | 'uncertain' | 'pending' | 'not found';
    reason?: string;
    mapped?: MappedDeal;
    stage?: StageDecision;
  };
}

const CHUNK = 250;
/** Patients synced on the spot for receptions whose contact is missing, at most, per run. */
const MAX_CONTACTS_ON_THE_SPOT = 100;
const CLOSED = [WON_STATUS_ID, LOST_STATUS_ID];
/** Linked receptions with an open deal a deep sync did not read, asked of IDENT one by one, at most, per run. */
const MAX_UNSEEN_LOOKUPS = 500;

/**
 * One deal run, after the contacts: refresh the deals' mirror, settle creates an earlier run left
 * unconfirmed, then receptions from IDENT → the deal map → matched (the deal carrying the
 * reception id; else an open deal of the patient's contact that no reception took; else a new one
 * linked to the contact) → only what differs goes to amoCRM, and the stage moves only forward.
 */
export class DealRun
  extends StreamRun<ReceptionRow, MappedDeal, DealPending, DealWriter, DealSyncDeps, DealSyncOptions>
  implements DealWriteReport
{
  protected counts: DealCounts = noDealCounts();
  private relinker!: DealRelinker;
  private kind: DealRunKind = 'incremental';
  private readonly claimed = new Set<number>();
  private contactsOnTheSpot = 0;
  /** IDENT's clock when the run began: which visits are upcoming. */
  private identNow = new Date(0);
  /** Receptions that may take over an open lead of their contact, by contact: the nearest wins at the end. */
  private readonly takeOvers = new Map<number, TakeOverCandidate[]>();
  /** The reception a single run is about: only its fate is reported. */
  private focus: string | undefined;
  private result: DealSyncResult['reception'];
  private progress: ProgressLine | undefined;

  async run(request: DealRequest): Promise<DealSyncResult> {
    const { store, logger, leads, resolved, timeZone } = this.deps;
    const started = Date.now();
    const checkpoint = store.deals.checkpoint();
    this.kind = request.kind === 'incremental' && !checkpoint ? 'initial' : request.kind;
    this.focus = request.kind === 'single' ? request.receptionId.trim().replace(/^0+(?=\d)/, '') : undefined;
    const progress = this.progressLine('deal sync progress');
    this.progress = progress;
    let duplicates = 0;
    logger.info({ kind: this.kind, dryRun: this.options.dryRun }, 'deal sync started');
    // The schedule's catch-up reads when each stream last tried, and last finished, a full read.
    if (request.kind === 'deep' && !this.options.dryRun) store.deals.setDeepAttemptAt(new Date(started));
    const refresher = leadRefresher(leads, store.leadMirror, { resolved, timeZone }, logger);
    this.writer = new DealWriter({ leads, ...this.writerDeps(refresher) }, this.writerOptions(), this);
    this.relinker = new DealRelinker({ leads, store, logger });
    let clock: Awaited<ReturnType<DealSyncDeps['now']>>;
    let windowStart: Date;
    const { outcome, error } = await this.steps(
      {
        start: async () => {
          await rereadPipelines(resolved.pipelines, this.deps.readPipelines, logger);
          clock = await this.deps.now();
          this.identNow = clock.at;
          windowStart = daysBefore(clock.at, this.options.daysBack);
          await refresher.refresh(request.kind === 'deep');
        },
        pending: () =>
          request.kind === 'single'
            ? store.deals.pending({ receptionId: request.receptionId.trim() })
            : store.deals.pending(),
        settledNoun: 'deal creates',
        afterSettle: async () => {
          // Re-links a crash interrupted: finished before anything else is decided.
          const replayed = await this.relinker.replay(request.kind === 'deep');
          this.counts.relinked += replayed.done;
          this.failed(replayed.failed);
        },
        rows: this.rowsFor(request, checkpoint, () => windowStart),
        chunk: CHUNK,
        retryFailed: request.kind !== 'single',
        ...(request.kind === 'deep' ? { afterRows: () => this.sweepDeleted() } : {}),
        beforeFlush: () => this.settleTakeOvers(),
        complete: () => {
          if (request.kind === 'deep') {
            const found = store.leadMirror.duplicates();
            duplicates = found.length;
            if (found.length > 0)
              logger.warn(
                { receptions: found.length, example: found[0] },
                'several amoCRM deals carry the same reception id; the oldest is kept in sync',
              );
          }
          if (request.kind !== 'single' && !this.options.dryRun) store.deals.setCheckpoint(clock);
          if ((this.kind === 'deep' || this.kind === 'initial') && !this.options.dryRun)
            store.deals.setFullReadAt(new Date(started));
        },
      },
      logger,
    );
    this.counts.requests = progress.requests();
    const durationMs = Date.now() - started;
    if (!this.options.dryRun && request.kind !== 'single')
      store.deals.setLastRun({
        at: new Date(started).toISOString(),
        kind: this.kind,
        outcome,
        ...this.counts,
        ...(error ? { error: error.message } : {}),
      });
    const summary = {
      kind: this.kind,
      outcome,
      ...this.counts,
      pending: this.pending,
      durationMs,
      dryRun: this.options.dryRun,
    };
    this.logFinished(logger, 'deal sync', summary, outcome, error);
    return {
      kind: this.kind,
      outcome,
      error,
      durationMs,
      ...this.counts,
      duplicates,
      pending: this.pending,
      reception: this.result,
    };
  }

  private async *rowsFor(
    request: DealRequest,
    checkpoint: Checkpoint | undefined,
    windowStartOf: () => Date,
  ): AsyncGenerator<ReceptionRow> {
    const windowStart = windowStartOf();
    const { source } = this.deps;
    if (request.kind === 'single') {
      const row = await source.one(this.focus!);
      if (row) yield row;
      else this.result = { receptionId: this.focus!, action: 'not found' };
      return;
    }
    if (request.kind === 'deep' || !checkpoint) {
      yield* source.window(windowStart);
      return;
    }
    // Rows committed late carry an earlier stamp: the overlap re-reads them (hashes skip the unchanged).
    yield* source.changedSince(
      new Date(checkpoint.at.getTime() - this.options.overlapSeconds * 1000),
      windowStart,
      checkpoint.rowVersion,
      checkpoint.sources,
    );
  }

  protected failuresDue(): string[] {
    return this.deps.store.deals.failuresDue(this.now());
  }

  protected readOne(receptionId: string): Promise<ReceptionRow | undefined> {
    return this.deps.source.one(receptionId);
  }

  protected forgetFailure(receptionId: string): void {
    if (!this.options.dryRun) this.deps.store.deals.clearFailures([receptionId]);
  }

  protected matchAgain(deal: MappedDeal): Promise<void> {
    return this.resolveUnlinked(deal, undefined);
  }

  /**
   * After a deep sync read the whole window: linked receptions whose deal is open but which it did
   * not read are asked of IDENT one by one. One still there (before the window) is synced as any
   * other; one gone was deleted in IDENT: its deal is closed as lost with the map's reason.
   */
  private async sweepDeleted(): Promise<void> {
    const { store, source, leads, resolved, logger } = this.deps;
    const closer = new DeletedReceptionCloser({ leads, store, resolved, logger });
    // Each deep sync goes on where the last stopped, so every linked reception is asked in turn
    // however many old open deals (no-shows, a manager's open stages) come before it.
    const start = this.options.dryRun ? '' : store.deals.sweepCursor();
    const unseen = this.unseenLinks(start);
    let checked = start;
    try {
      for (const entry of unseen) {
        if (this.stopping()) return;
        const row = await source.one(entry.receptionId);
        if (row) await this.handleRows([row]);
        else if (this.options.dryRun) this.counts.closed += 1;
        else if (await closer.close(entry)) this.counts.closed += 1;
        checked = entry.receptionId;
      }
      // Every one was asked: the next deep sync begins at the start again.
      if (unseen.length < MAX_UNSEEN_LOOKUPS) checked = '';
    } finally {
      if (!this.options.dryRun) store.deals.setSweepCursor(checked);
    }
  }

  /** Up to MAX_UNSEEN_LOOKUPS linked receptions with an open deal this run did not read, from `start` round to it. */
  private unseenLinks(start: string): { receptionId: string; leadId: number; pipelineId: number }[] {
    const picked: { receptionId: string; leadId: number; pipelineId: number }[] = [];
    let after = start;
    let wrapped = start === '';
    for (;;) {
      const page = this.deps.store.deals.linksWithOpenDeals(1_000, after);
      if (page.length === 0) {
        if (wrapped) return picked;
        wrapped = true;
        after = '';
        continue;
      }
      for (const entry of page) {
        if (wrapped && start !== '' && entry.receptionId > start) return picked;
        if (this.scratch.wasSeen(entry.receptionId) || this.waiting.has(entry.receptionId)) continue;
        picked.push(entry);
        if (picked.length === MAX_UNSEEN_LOOKUPS) return picked;
      }
      after = page.at(-1)!.receptionId;
    }
  }

  protected async handleRows(rows: readonly ReceptionRow[]): Promise<void> {
    if (rows.length === 0) return;
    const { store } = this.deps;
    // A no-show is judged on IDENT's clock (read at the run's start), never the host's.
    const outcomes = rows.map((row) => this.deps.mapper(row, this.identNow));
    const deals = outcomes.flatMap((outcome) => (outcome.ok ? [outcome.deal] : []));
    const contacts = store.links([...new Set(deals.map((deal) => deal.patientId))]);
    const links = store.deals.links(deals.map((deal) => deal.receptionId));
    const failedBefore = store.deals.failedAmong(deals.map((deal) => deal.receptionId));
    const held = store.leadMirror.get([...links.values()].map((link) => link.leadId));
    const refused =
      this.kind === 'deep' ? store.deals.standingRefusals(deals.map((deal) => deal.receptionId)) : undefined;
    const now = this.time().clock.now();
    // A refused value the deal holds after all (a write landed whose link save a crash lost): it ends.
    const inPlace = deals.filter((deal) => {
      const leadId = links.get(deal.receptionId)?.leadId;
      return refused?.has(deal.receptionId) && leadId !== undefined && held.get(leadId)?.hash === deal.hash;
    });
    if (!this.options.dryRun) store.deals.endRefusals(inPlace.map((deal) => deal.receptionId));
    for (const [index, outcome] of outcomes.entries()) {
      if (this.stopping()) return;
      const deal = this.accept(outcome);
      if (!deal) continue;
      let contactId = contacts.get(deal.patientId)?.contactId;
      contactId ??= await this.contactOnTheSpot(deal);
      if (contactId === undefined) continue;
      const link = links.get(deal.receptionId);
      if (!link) await this.resolveUnlinked(deal, contactId, undefined, visitTimeOf(rows[index]!));
      else
        await this.handleLinked(deal, link, held.get(link.leadId), contactId, {
          failedBefore: failedBefore.has(deal.receptionId),
          refusedAt: excusedAt(refused?.get(deal.receptionId), now),
        });
    }
  }

  /** A mapped reception this run has not handled yet; a failure is recorded for one that did not map. */
  private accept(outcome: DealOutcome): MappedDeal | undefined {
    this.counts.read += 1;
    this.progress?.report(this.counts);
    const receptionId = outcome.ok ? outcome.deal.receptionId : outcome.receptionId;
    if (receptionId !== undefined && this.waiting.has(receptionId)) {
      // Its create may still land: neither sent again nor failed (that would end the pending entry).
      if (this.scratch.markSeen(receptionId) && outcome.ok)
        this.setResult(outcome.deal, 'pending', undefined);
      return undefined;
    }
    if (!outcome.ok) {
      if (outcome.receptionId === undefined) {
        this.counts.failed += 1;
        this.deps.logger.warn({ reason: outcome.reason }, 'reception row without a usable id skipped');
      } else if (this.scratch.markSeen(outcome.receptionId))
        this.failed([{ receptionId: outcome.receptionId, reason: outcome.reason }]);
      return undefined;
    }
    return this.scratch.markSeen(outcome.deal.receptionId) ? outcome.deal : undefined;
  }

  /**
   * The contact of a patient the contact sync has not linked: synced now, unless its last try
   * failed (it is retried on its own schedule) or this run synced enough patients on the spot.
   */
  private async contactOnTheSpot(deal: MappedDeal): Promise<number | undefined> {
    const { store } = this.deps;
    const failure = store.failedAmong([deal.patientId]).has(deal.patientId);
    let contactId: number | undefined;
    if (
      !failure &&
      this.deps.ensureContact &&
      !this.options.dryRun &&
      this.contactsOnTheSpot < MAX_CONTACTS_ON_THE_SPOT
    ) {
      this.contactsOnTheSpot += 1;
      contactId = await this.deps.ensureContact(deal.patientId);
    }
    if (contactId === undefined)
      this.failed([
        {
          receptionId: deal.receptionId,
          reason: `patient ${deal.patientId} has no amoCRM contact yet${failure ? ' (its contact failed to sync; `ident-sync status` says why)' : ''}; the deal follows once it has`,
        },
      ]);
    return contactId;
  }

  private async handleLinked(
    deal: MappedDeal,
    link: DealLink,
    row: LeadRow | undefined,
    contactId: number,
    known: { failedBefore: boolean; refusedAt: string | undefined },
  ): Promise<void> {
    const deep = this.kind === 'deep';
    // A deep sync read every deal: one missing was deleted; one carrying another reception id was re-used.
    if (deep && (!row || (row.receptionId !== null && row.receptionId !== deal.receptionId))) {
      this.deps.logger.warn(
        { receptionId: deal.receptionId, leadId: link.leadId },
        'the linked amoCRM deal was deleted or given another reception id; the reception is matched again',
      );
      return this.resolveUnlinked(deal, contactId, new Set([link.leadId]));
    }
    const stage = decideStage(
      deal.placement,
      link,
      row && { pipelineId: row.pipelineId, statusId: row.statusId },
      this.deps.resolved,
    );
    // The visit moved to another patient in IDENT: the deal follows before anything else is written.
    const dealContact = await this.followPatient(deal, link, row, contactId);
    if (dealContact === undefined) return;
    const changed = link.hash !== deal.hash;
    const drifted = deep && row !== undefined && row.hash !== deal.hash && known.refusedAt !== deal.hash;
    this.note(deal, stage);
    if (changed || drifted || stage.move) {
      const action: DealAction = stage.move ? 'moved' : changed ? 'updated' : 'repaired';
      return this.writer.update({
        deal,
        leadId: link.leadId,
        contactId: dealContact,
        move: stage.move,
        after: stage.after,
        action,
      });
    }
    this.keepPlacement(deal, link, stage);
    this.counts.unchanged += 1;
    this.setResult(deal, 'unchanged', link.leadId, stage);
    if (known.failedBefore && !this.options.dryRun) this.deps.store.deals.clearFailures([deal.receptionId]);
  }

  /**
   * The contact the deal belongs to once its reception's patient is followed: re-linked (intent
   * first, see DealRelinker) when IDENT moved the visit to a patient whose contact the deal is not
   * linked to; undefined when that failed (recorded; nothing else is written to the deal).
   */
  private async followPatient(
    deal: MappedDeal,
    link: DealLink,
    row: LeadRow | undefined,
    contactId: number,
  ): Promise<number | undefined> {
    const current = row
      ? row.contactId
      : (this.deps.store.links([link.patientId]).get(link.patientId)?.contactId ?? null);
    if (link.patientId === deal.patientId || current === contactId) return row?.contactId ?? contactId;
    return (await this.relink(deal, link.leadId, current, contactId)) ? contactId : undefined;
  }

  /** The deal's main contact becomes `to` (intent first, see DealRelinker); false when amoCRM did not take it (recorded). */
  private async relink(deal: MappedDeal, leadId: number, from: number | null, to: number): Promise<boolean> {
    const reason = this.options.dryRun
      ? undefined
      : await this.relinker.relink({
          receptionId: deal.receptionId,
          leadId,
          patientId: deal.patientId,
          fromContactId: from,
          toContactId: to,
        });
    if (reason !== undefined) {
      this.failed([{ receptionId: deal.receptionId, reason }]);
      return false;
    }
    this.counts.relinked += 1;
    return true;
  }

  /**
   * IDENT's state changed but the deal stays where it is (a manager's later stage, or a stage past
   * the map's): the link records the new state, so the manager's stage stands until IDENT changes again.
   */
  private keepPlacement(deal: MappedDeal, link: DealLink, stage: StageDecision): void {
    if (this.options.dryRun) return;
    if (
      link.state === deal.placement.state &&
      link.role === deal.placement.role &&
      link.patientId === deal.patientId
    )
      return;
    this.deps.store.deals.saveLinks([
      {
        ...link,
        patientId: deal.patientId,
        state: deal.placement.state,
        role: deal.placement.role,
        pipelineId: stage.after.pipelineId,
        statusId: stage.after.statusId,
        // Nothing was written: every refusal stands.
        landed: [],
      },
    ]);
  }

  /**
   * A reception the state does not link: its deal in the mirror; else, for an upcoming or current
   * visit, an open lead of its contact (decided once the run has seen every reception, the nearest
   * visit first); else a new deal.
   */
  private async resolveUnlinked(
    deal: MappedDeal,
    contactId: number | undefined,
    exclude?: ReadonlySet<number>,
    time?: VisitTime,
  ): Promise<void> {
    const { store } = this.deps;
    contactId ??= store.links([deal.patientId]).get(deal.patientId)?.contactId;
    if (contactId === undefined) {
      this.failed([
        { receptionId: deal.receptionId, reason: `patient ${deal.patientId} has no amoCRM contact` },
      ]);
      return;
    }
    const carrier = store.leadMirror
      .byReception(deal.receptionId)
      .find((row) => !exclude?.has(row.leadId) && !this.claimed.has(row.leadId));
    if (carrier) return this.takeOver(deal, contactId, carrier);
    const open = this.openLeadOf(contactId, deal, exclude);
    if (open && time && mayTakeOver({ deal, time }, this.identNow)) {
      this.takeOvers.set(contactId, [...(this.takeOvers.get(contactId) ?? []), { deal, contactId, time }]);
      return;
    }
    await this.writer.create({ deal, contactId });
  }

  /** The contact's open lead in the deal's own pipelines (a chain clinic's, where it has its own). */
  private openLeadOf(
    contactId: number,
    deal: MappedDeal,
    exclude?: ReadonlySet<number>,
  ): LeadRow | undefined {
    const { resolved } = this.deps;
    const open = this.deps.store.leadMirror.openLeadOf(
      contactId,
      resolved.pipelines.setIds(deal.placement.pipelineId),
      CLOSED,
    );
    return open && !this.claimed.has(open.leadId) && !exclude?.has(open.leadId) ? open : undefined;
  }

  /** Each contact's open lead goes to its nearest upcoming visit; its other visits get deals of their own. */
  private async settleTakeOvers(): Promise<void> {
    const waiting = [...this.takeOvers.values()];
    this.takeOvers.clear();
    for (const candidates of waiting)
      for (const candidate of nearestFirst(candidates)) {
        if (this.stopping()) return;
        const open = this.openLeadOf(candidate.contactId, candidate.deal);
        if (open) await this.takeOver(candidate.deal, candidate.contactId, open);
        else await this.writer.create({ deal: candidate.deal, contactId: candidate.contactId });
      }
  }

  /** This deal carries the reception from now on: linked, and written where it differs. */
  private async takeOver(deal: MappedDeal, contactId: number, taken: LeadRow): Promise<void> {
    const { store, resolved } = this.deps;
    this.claimed.add(taken.leadId);
    if (!this.options.dryRun) store.leadMirror.claim(taken.leadId, deal.receptionId);
    this.noteOtherPatientsContact(deal, contactId, taken);
    const stage = decideStage(
      deal.placement,
      undefined,
      { pipelineId: taken.pipelineId, statusId: taken.statusId },
      resolved,
    );
    this.note(deal, stage);
    if (taken.receptionId === deal.receptionId && taken.hash === deal.hash && !stage.move) {
      // It carries this reception and holds this data: an earlier state of this sync wrote it.
      if (!this.options.dryRun)
        store.deals.saveLinks([
          {
            receptionId: deal.receptionId,
            patientId: deal.patientId,
            leadId: taken.leadId,
            hash: deal.hash,
            state: deal.placement.state,
            role: deal.placement.role,
            ...stage.after,
          },
        ]);
      this.done(deal, 'linked', taken.leadId);
      return;
    }
    await this.writer.update({
      deal,
      leadId: taken.leadId,
      contactId: taken.contactId ?? contactId,
      move: stage.move,
      after: stage.after,
      action: 'linked',
    });
  }

  /**
   * A deal found by its reception id (no link in the state: a lost or restored state folder) on
   * another IDENT patient's contact. The visit may have moved in IDENT while no state recorded it —
   * or a manager put it there (a child's visit on the mother's contact, both patients): nothing in
   * amoCRM tells the two apart, and moving a manager's choice would unlink the other patient. The
   * deal stays where it is; the log names it (ids only) for a person to check.
   */
  private noteOtherPatientsContact(deal: MappedDeal, contactId: number, found: LeadRow): void {
    const on = found.contactId;
    if (found.receptionId !== deal.receptionId || on === null || on === contactId) return;
    const owners = this.deps.store.patientsOfContact(on);
    if (owners.length === 0 || owners.includes(deal.patientId)) return;
    this.deps.logger.warn(
      { receptionId: deal.receptionId, leadId: found.leadId, contactId: on, patientId: deal.patientId },
      "a deal found by its reception id is on another IDENT patient's contact: left there (a manager's choice looks the same as a visit moved while the state was lost); re-link it in amoCRM if the visit moved",
    );
  }

  private note(deal: MappedDeal, stage: StageDecision): void {
    if (this.result?.receptionId === deal.receptionId || this.result === undefined)
      this.result = { receptionId: deal.receptionId, action: 'unchanged', mapped: deal, stage };
  }

  // ── what the writer reports ────────────────────────────────────────────────────────────────
  done(deal: MappedDeal, action: DealAction, leadId: number): void {
    this.counts[action] += 1;
    this.setResult(deal, action, leadId || undefined);
  }

  failed(failures: readonly { receptionId: string; reason: string }[]): void {
    if (failures.length === 0) return;
    if (!this.options.dryRun) this.deps.store.deals.recordFailures(failures, this.now());
    for (const failure of failures) {
      this.counts.failed += 1;
      this.deps.logger.warn(
        { receptionId: failure.receptionId, reason: failure.reason },
        'reception not synced to a deal; retried on a later run',
      );
      if (this.result === undefined || this.result.receptionId === failure.receptionId)
        this.result = {
          ...this.result,
          receptionId: failure.receptionId,
          action: 'failed',
          reason: failure.reason,
        };
    }
  }

  uncertain(deal: MappedDeal): void {
    this.setResult(deal, 'uncertain', undefined);
    this.notConfirmed({ receptionId: deal.receptionId }, 'deal create');
  }

  private setResult(
    deal: MappedDeal,
    action: NonNullable<DealSyncResult['reception']>['action'],
    leadId: number | undefined,
    stage?: StageDecision,
  ): void {
    if (deal.receptionId !== this.focus) return;
    this.result = {
      receptionId: deal.receptionId,
      action,
      mapped: deal,
      stage: stage ?? this.result?.stage,
      ...(leadId === undefined ? {} : { leadId }),
    };
  }
}

/** Midnight `days` days before the day of `at` — IDENT's wall clock, as the driver hands it over. */
export function daysBefore(at: Date, days: number): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() - days));
}
