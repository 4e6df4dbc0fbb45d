import { ProgressLine } from '../runner/progress.ts';
import type { ContactsApi } from '../../amocrm/contacts.ts';
import type { AmoCrmError } from '../../amocrm/errors.ts';
import { errorKindOf } from '../../alerts/error-kind.ts';
import type { PatientSource } from '../../ident/patient-source.ts';
import type { Logger } from '../../logging/logger.ts';
import type { ResolvedMap } from '../../mapping/catalogue.ts';
import type { MapOutcome, MappedContact, Mapper, PatientRow } from '../../mapping/mapper.ts';
import type {
  Link,
  Pending,
  RunCounts,
  RunKind,
  RunOutcome,
  StandingRefusals,
  StateStore,
} from '../../state/store.ts';
import type { Clock } from '../../support/clock.ts';
import { MirrorRefresher } from './mirror-refresh.ts';
import { judgePending, type SentStamp, stampOf } from '../runner/pending-age.ts';
import { emailsOf, keptOwned, phonesOf } from './multitext.ts';
import { drifted, recordFindings } from './reconcile.ts';
import { excusedAt } from '../runner/refusals.ts';
import { type Plan, planLinked, planUnlinked } from './resolve.ts';
import { StreamRun } from '../runner/run.ts';
import { ContactWriter, type WriteReport } from './write.ts';
import { splitScopedId } from '../../sources/source-key.ts';
import { ChainMembers } from './chain-members.ts';

export interface SyncDeps {
  source: PatientSource;
  mapper: Mapper;
  resolved: ResolvedMap;
  /** The clinic's zone, in which dates read from amoCRM are compared with the map's. */
  timeZone: string;
  contacts: ContactsApi;
  store: StateStore;
  logger: Logger;
  /** amoCRM requests sent so far by this process (for the run's count). */
  requestCount: () => number;
  /** Wall and monotonic time (a simulation steps them); the system's by default. */
  clock?: Clock;
  /** The boot the monotonic clock belongs to (`systemBootId()` by default). */
  boot?: string;
}

export interface SyncOptions {
  batchSize: number;
  matchByPhone: boolean;
  overlapSeconds: number;
  dryRun?: boolean;
  /** Batches sent at once: hides amoCRM's latency while the rate limiter keeps the pace. */
  maxInFlight?: number;
  progressEveryMs?: number;
  /** Asked before each row: true ends the run after the batches in flight (graceful shutdown). */
  shouldStop?: () => boolean;
  /**
   * The client's request timeout (AMOCRM_TIMEOUT_SECONDS): a create not seen in amoCRM is called
   * lost only once it was sent longer ago than this plus `pendingMarginMs`.
   */
  requestTimeoutMs?: number;
  pendingMarginMs?: number;
}

export type SyncRequest = { kind: 'incremental' } | { kind: 'deep' } | { kind: 'single'; patientId: string };

export interface SyncResult extends RunCounts {
  runId: number;
  kind: RunKind;
  outcome: RunOutcome;
  error?: AmoCrmError | Error;
  durationMs: number;
  duplicates: number;
  orphans: number;
  /**
   * Patients whose create is sent but not seen in amoCRM yet (an answer lost now, or a create an
   * earlier run sent that amoCRM may still apply): neither created nor failed; a later run settles them.
   */
  pending: number;
  /** For a single patient: what happened to it. */
  patient?: {
    patientId: string;
    contactId?: number;
    action: PatientAction;
    reason?: string;
    mapped?: MappedContact;
  };
}

export type PatientAction =
  | 'unchanged'
  | 'created'
  | 'updated'
  | 'linked'
  | 'repaired'
  | 'failed'
  | 'uncertain'
  | 'pending'
  | 'not found';

/** Rows mapped and looked up in the state together: one query per chunk instead of one per row. */
const LOOKUP_CHUNK = 250;

/** The clinic a row's kept id belongs to (undefined: the source with bare ids). */
const clinicOfRow = (row: PatientRow): string | undefined =>
  typeof row.PatientId === 'string' ? splitScopedId(row.PatientId).key : undefined;

const emptyCounts = (): RunCounts => ({
  read: 0,
  unchanged: 0,
  created: 0,
  updated: 0,
  linked: 0,
  repaired: 0,
  failed: 0,
  requests: 0,
});

/**
 * One sync run: refresh the mirror of amoCRM, settle creates an earlier run left unconfirmed, then
 * patients from the source → map → match (`resolve.ts`; deep syncs also check each contact for
 * drift, `reconcile.ts`) → only what differs goes to amoCRM (`write.ts`). The three kinds differ
 * in which patients they read and in how much of amoCRM they read first.
 */
export class SyncRun
  extends StreamRun<PatientRow, MappedContact, Pending, ContactWriter, SyncDeps, SyncOptions>
  implements WriteReport
{
  protected counts = emptyCounts();
  private kind: RunKind = 'incremental';
  /** Contacts this run gave to a patient by phone: nobody else takes them over. */
  private readonly claimed = new Set<number>();
  /**
   * Patients whose contact vanished (deleted, or merged into one the lists may not show yet) long
   * enough before this run's complete listing began: a new contact may be made for them.
   */
  private replaceable = new Set<string>();
  private readonly duplicatesNoted = new Set<string>();
  private startedAt = Date.now();
  private progress: ProgressLine | undefined;
  private total: number | undefined;
  private patientResult: SyncResult['patient'];
  /** Whether the state had a checkpoint when the run began (without one, an incremental run reads all). */
  private hadCheckpoint = false;
  /** A clinic chain's patients of other clinics on a contact (absent for one database). */
  private readonly chain: ChainMembers | undefined;
  /** The clinic of the rows handled last: a new clinic's rows wait for the writes before them. */
  private lastClinic: { key: string | undefined } | undefined;
  /** A chain's joined patients that are another person now: matched again away from the contact. */
  private readonly leaving = new Map<string, number>();
  /** Other clinics' creates not settled yet (read again at each clinic's rows). */
  private unsettled: Pending[] | undefined;
  /** Contacts a patient joined this run, by clinic: one clinic's second patient never joins the same. */
  private readonly joined = new Map<number, Set<string | undefined>>();

  constructor(deps: SyncDeps, options: SyncOptions) {
    super(deps, options);
    if (deps.source.rankOf)
      this.chain = new ChainMembers({
        source: deps.source,
        mapper: deps.mapper,
        fields: deps.resolved.fields,
        joinOn: deps.resolved.map.chain.joinOn,
        patientsOfContact: (contactId) => deps.store.patientsOfContact(contactId),
        logger: deps.logger,
        values: {
          read: (patientId) => deps.store.chainValues(patientId),
          note: (patientId, values) => deps.store.noteChainValues(patientId, values),
        },
        now: () => this.time().clock.now(),
        dryRun: options.dryRun ?? false,
      });
  }

  async run(request: SyncRequest): Promise<SyncResult> {
    const { store, logger, contacts, resolved, timeZone } = this.deps;
    const dryRun = this.options.dryRun;
    this.startedAt = Date.now();
    const startedAt = new Date(this.startedAt);
    this.hadCheckpoint = store.checkpoint() !== undefined;
    // The first run of a state reads every patient: it is the initial sync, and says so.
    this.kind = request.kind === 'incremental' && !this.hadCheckpoint ? 'initial' : request.kind;
    const progress = this.progressLine('sync progress');
    this.progress = progress;
    const runId = store.startRun(this.kind, dryRun);
    let findings = { duplicates: 0, orphans: 0 };
    logger.info({ kind: this.kind, dryRun, runId }, 'sync started');
    const refresher = new MirrorRefresher(contacts, store.mirror, { resolved, timeZone }, logger);
    this.writer = new ContactWriter({ contacts, ...this.writerDeps(refresher) }, this.writerOptions(), this);
    let clock: Awaited<ReturnType<PatientSource['now']>>;
    const { outcome, error } = await this.steps(
      {
        start: async () => {
          clock = await this.deps.source.now();
          if (request.kind === 'deep') this.total = (await this.deps.source.stats()).patients;
          // A deep sync compares every contact, so it reads all of them; other runs read what changed.
          const full = request.kind === 'deep' || !refresher.complete;
          // Judged before a complete listing begins: a contact that vanished a pending wait before it,
          // and that it does not show on another contact, is gone for good. A dry run judges them too
          // (it says what a real run would do) but writes no new stamp.
          const settledVanished = full ? this.vanishedLongAgo({ restamp: !dryRun }) : new Set<string>();
          const listing = await refresher.refresh(full);
          if (listing.kind === 'full') this.replaceable = settledVanished;
        },
        pending: () =>
          request.kind === 'single'
            ? store.pending({ patientId: normaliseId(request.patientId) })
            : store.pending(),
        settledNoun: 'creates',
        rows: this.rowsFor(request),
        chunk: LOOKUP_CHUNK,
        retryFailed: request.kind !== 'single',
        complete: async () => {
          if (request.kind === 'deep') {
            const found = recordFindings(store, this.scratch, logger, { dryRun });
            for (const duplicate of found.duplicates)
              this.carriers(duplicate.patientId, duplicate.contactIds);
            if (this.chain && !dryRun)
              store.replaceFindings(
                'person',
                (await this.chain.possiblyOnePerson(store.mirror)).map((pair) => ({
                  kind: 'person',
                  ...pair,
                })),
              );
            findings = { duplicates: this.duplicatesNoted.size, orphans: found.orphans.length };
          }
          if (request.kind !== 'single' && !dryRun) {
            // A deep sync, or the first run of a state, read every patient: the schedule counts it.
            if (request.kind === 'deep' || !this.hadCheckpoint)
              store.setMeta('full_read_at', startedAt.toISOString());
            store.setCheckpoint(clock);
          }
        },
      },
      logger,
    );
    this.counts.requests = progress.requests();
    store.finishRun(runId, outcome, this.counts, error?.message, new Date(), errorKindOf(error));
    const durationMs = Date.now() - this.startedAt;
    const summary = { kind: this.kind, outcome, ...this.counts, pending: this.pending, durationMs, dryRun };
    this.logFinished(logger, 'sync', summary, outcome, error);
    return {
      runId,
      kind: this.kind,
      outcome,
      error,
      durationMs,
      ...this.counts,
      duplicates: findings.duplicates || this.duplicatesNoted.size,
      orphans: findings.orphans,
      pending: this.pending,
      patient: this.patientResult,
    };
  }

  private async *rowsFor(request: SyncRequest): AsyncGenerator<PatientRow> {
    const source = this.deps.source;
    if (request.kind === 'single') {
      const row = await source.one(normaliseId(request.patientId));
      if (row) yield row;
      else this.patientResult = { patientId: request.patientId, action: 'not found' };
      return;
    }
    const checkpoint = this.deps.store.checkpoint();
    if (request.kind === 'deep' || !checkpoint) {
      yield* source.all();
      return;
    }
    // Rows committed late carry an earlier stamp: the overlap re-reads them (hashes skip the unchanged).
    yield* source.changedSince({
      ...checkpoint,
      at: new Date(checkpoint.at.getTime() - this.options.overlapSeconds * 1000),
    });
  }

  protected failuresDue(): string[] {
    return this.deps.store.failuresDue(this.now());
  }

  protected readOne(patientId: string): Promise<PatientRow | undefined> {
    return this.deps.source.one(patientId);
  }

  protected forgetFailure(patientId: string): void {
    this.deps.store.clearFailures([patientId]);
  }

  protected matchAgain(mapped: MappedContact): Promise<void> {
    return this.resolveUnlinked(mapped);
  }

  protected async handleRows(rows: readonly PatientRow[]): Promise<void> {
    if (!this.chain) return this.planPage(rows.map((row) => this.deps.mapper(row)));
    // A chain: each clinic's rows in turn, a new clinic's after the writes before them (its
    // patients may be the people just created).
    let start = 0;
    while (start < rows.length) {
      const clinic = clinicOfRow(rows[start]!);
      let end = start + 1;
      while (end < rows.length && clinicOfRow(rows[end]!) === clinic) end += 1;
      if (this.lastClinic && clinic !== this.lastClinic.key && !this.options.dryRun)
        await this.writer.flush();
      this.lastClinic = { key: clinic };
      this.unsettled = undefined;
      await this.planPage(rows.slice(start, end).map((row) => this.deps.mapper(row)));
      start = end;
    }
  }

  /** A chain: a linked patient's contact values combined with the other clinics' patients on the same contact. */
  private async combineShared(outcomes: MapOutcome[], links: ReadonlyMap<string, Link>): Promise<void> {
    for (const [index, outcome] of outcomes.entries()) {
      if (!outcome.ok) continue;
      const link = links.get(outcome.contact.patientId);
      if (!link) continue;
      const others = this.chain!.othersOn(outcome.contact.patientId, link.contactId, undefined);
      if (others.length === 0) continue;
      const { selfLeaves, leaving, staying } = await this.chain!.departing(outcome.contact, others);
      if (selfLeaves) {
        this.leaving.set(outcome.contact.patientId, link.contactId);
        continue;
      }
      if (leaving.length > 0 && !this.options.dryRun)
        // Each leaves at its own turn (this run's retries): it is another person now.
        this.deps.store.recordFailures(
          leaving.map((patientId) => ({
            patientId,
            reason: "no longer the same person as the other clinics' patients on its contact; matched again",
            dueNow: true,
          })),
          this.now(),
        );
      outcomes[index] = { ...outcome, contact: await this.chain!.combine(outcome.contact, staying) };
    }
  }

  /**
   * In a chain, the contact of other clinics' patients a new patient is the same person as (the
   * map's `chain.joinOn`), with the values combined; undefined when there is none.
   */
  private async joinPerson(
    mapped: MappedContact,
    exclude: ReadonlySet<number> | undefined,
  ): Promise<{ plan: Plan; mapped: MappedContact } | undefined> {
    if (!this.chain) return undefined;
    const clinic = splitScopedId(mapped.patientId).key;
    const skip = new Set(exclude ?? []);
    for (const [contactId, clinics] of this.joined) if (clinics.has(clinic)) skip.add(contactId);
    const found = await this.chain.joinable(mapped, this.deps.store.mirror, skip);
    if (!found) return undefined;
    const joinedBy = this.joined.get(found.row.contactId) ?? new Set();
    joinedBy.add(clinic);
    this.joined.set(found.row.contactId, joinedBy);
    this.deps.logger.info(
      { patientId: mapped.patientId, contactId: found.row.contactId },
      "the patient joins another clinic's contact of the same person",
    );
    return {
      mapped: await this.chain.combine(mapped, found.others),
      plan: {
        action: 'update',
        contactId: found.row.contactId,
        link: undefined,
        linking: true,
        repair: false,
        assumeOwned: false,
        held: found.row,
        joined: this.ownedThrough(found.others),
      },
    };
  }

  /** What the sync owns on a shared contact through these patients' links. */
  private ownedThrough(patientIds: readonly string[]): { phones: string[]; emails: string[] } {
    const links = this.deps.store.links(patientIds);
    const all = (pick: (link: Link) => string[]) => [...new Set([...links.values()].flatMap(pick))];
    return { phones: all((link) => link.ownedPhones), emails: all((link) => link.ownedEmails) };
  }

  /** A page of mapped patients: looked up in the state together, then each planned and queued. */
  private async planPage(outcomes: MapOutcome[]): Promise<void> {
    const { store } = this.deps;
    const ids = outcomes.flatMap((outcome) => (outcome.ok ? [outcome.contact.patientId] : []));
    const links = store.links(ids);
    if (this.chain) await this.combineShared(outcomes, links);
    const failed = store.failedAmong(ids);
    // Deep syncs compare each linked contact with the mirror, read in full at the start of the run.
    const deep = this.kind === 'deep';
    const held = deep ? store.mirror.get([...links.values()].map((link) => link.contactId)) : undefined;
    const refused = deep ? store.standingRefusals(ids) : undefined;
    const now = this.time().clock.now();
    // A refused value the contact holds after all (a manager typed it, or a write landed whose link
    // save a crash lost): the refusal ends, as the value is there.
    const inPlace: string[] = [];
    for (const outcome of outcomes) {
      if (this.stopping()) return;
      const link = outcome.ok ? links.get(outcome.contact.patientId) : undefined;
      const row = link && held?.get(link.contactId);
      if (outcome.ok && link && row && refused?.has(link.patientId) && !drifted(row, outcome.contact))
        inPlace.push(link.patientId);
      await this.handleOutcome(outcome, {
        link,
        failedBefore: outcome.ok && failed.has(outcome.contact.patientId),
        drift:
          held && link
            ? { row: held.get(link.contactId), refusedAt: this.refusedAt(outcome, link, refused!, now) }
            : undefined,
      });
    }
    if (!this.options.dryRun) store.endRefusals(inPlace);
    await this.matchAllAgain();
  }

  /**
   * The hash at which a linked patient's refusals excuse what its contact lacks. A chain's shared
   * contact is one contact: a value amoCRM refused when another clinic's patient wrote it excuses
   * it for every patient on it.
   */
  private refusedAt(
    outcome: MapOutcome,
    link: Link,
    refused: ReadonlyMap<string, StandingRefusals>,
    now: number,
  ): string | undefined {
    const own = excusedAt(refused.get(link.patientId), now);
    if (own !== undefined || !this.chain || !outcome.ok) return own;
    const others = this.chain.othersOn(link.patientId, link.contactId, undefined);
    for (const standing of this.deps.store.standingRefusals(others).values()) {
      const excused = excusedAt(standing, now);
      if (excused === outcome.contact.hash) return excused;
    }
    return undefined;
  }

  private async handleOutcome(
    outcome: MapOutcome,
    known: { link: Link | undefined; failedBefore: boolean; drift: Parameters<typeof planLinked>[2] },
  ): Promise<void> {
    this.counts.read += 1;
    this.reportProgress();
    const patientId = outcome.ok ? outcome.contact.patientId : outcome.patientId;
    if (patientId !== undefined && this.waiting.has(patientId)) {
      // Its create may still land: neither sent again nor failed (that would end the pending entry).
      if (this.scratch.markSeen(patientId))
        this.stillPending(
          patientId,
          outcome.ok ? outcome.contact : undefined,
          'a create sent earlier may still land in amoCRM; a later run confirms it or sends it again',
        );
      return;
    }
    if (!outcome.ok) {
      if (outcome.patientId === undefined) {
        // Without an id the row can be neither linked nor fetched again: counted and logged only.
        this.counts.failed += 1;
        this.deps.logger.warn(
          { row: this.counts.read, reason: outcome.reason },
          'row without a usable patient id skipped',
        );
      } else if (this.scratch.markSeen(outcome.patientId)) {
        this.failed([{ patientId: outcome.patientId, reason: outcome.reason }]);
      }
      return;
    }
    const mapped = outcome.contact;
    if (!this.scratch.markSeen(mapped.patientId)) return;
    if (mapped.notes.length > 0) {
      this.deps.logger.debug(
        { patientId: mapped.patientId, notes: mapped.notes },
        'values changed or left out',
      );
    }
    if (!known.link) return this.resolveUnlinked(mapped);
    const leaving = this.leaving.get(mapped.patientId);
    if (leaving !== undefined) {
      // A chain's joined patient corrected to another person: matched again away from that contact.
      this.deps.logger.warn(
        { patientId: mapped.patientId, contactId: leaving },
        "the patient is no longer the same person as the other clinics' patients on its contact; it is matched again",
      );
      const remaining = this.chain?.othersOn(mapped.patientId, leaving, undefined) ?? [];
      // Their contact is written again without this patient (this run's retries).
      if (!this.options.dryRun && remaining.length > 0)
        this.deps.store.recordFailures(
          remaining.map((patientId) => ({
            patientId,
            reason: "another clinic's patient left its contact; written again",
            dueNow: true,
          })),
          this.now(),
        );
      return this.resolveUnlinked(mapped, new Set([leaving]), true);
    }
    const plan = planLinked(mapped, known.link, known.drift);
    if (plan === 'resolve again') {
      // The old link stays until a new one replaces it: a run that ends first finds it stale again.
      // Missing from a complete listing (and from its own address): vanished from this moment on.
      if (known.drift && !known.drift.row && !this.options.dryRun)
        this.deps.store.markVanished(mapped.patientId, known.link.contactId, this.stamp(), { unlink: false });
      this.deps.logger.warn(
        { patientId: mapped.patientId, contactId: known.link.contactId },
        'the linked amoCRM contact was deleted, merged or given another IDENT id; the patient is matched again',
      );
      return this.resolveUnlinked(mapped, new Set([known.link.contactId]), true);
    }
    await this.execute(plan, mapped, known.failedBefore);
  }

  /**
   * In a chain: the same person's create by another clinic is not settled yet — this patient is
   * tried again at the next run (when that create is found, it joins it; when it proves lost, the
   * other patient joins this one's), never given a second contact meanwhile.
   */
  private async awaitsOtherClinic(mapped: MappedContact): Promise<boolean> {
    if (!this.chain) return false;
    this.unsettled ??= this.deps.store.pending();
    const awaited = await this.chain.awaitedCreate(mapped, this.unsettled);
    if (!awaited) return false;
    const reason = `waits for another clinic's create of the same person (${awaited}), which amoCRM has not confirmed yet; tried again at the next run`;
    this.pending += 1;
    this.stillPending(mapped.patientId, mapped, reason);
    if (!this.options.dryRun)
      this.deps.store.recordFailures([{ patientId: mapped.patientId, reason, dueNow: true }], this.now());
    this.deps.logger.info(
      { patientId: mapped.patientId, awaited },
      "the patient waits for the same person's create",
    );
    return true;
  }

  /** A patient the state does not link (or whose link went stale): matched in the mirror, else created. */
  private async resolveUnlinked(
    unlinked: MappedContact,
    exclude?: ReadonlySet<number>,
    repair = false,
  ): Promise<void> {
    let mapped = unlinked;
    if (this.chain) {
      // A contact carrying the patient's id may carry other clinics' patients too: compared combined.
      const carrier = this.deps.store.mirror
        .byIdent(mapped.patientId)
        .find((row) => !exclude?.has(row.contactId));
      if (carrier)
        mapped = await this.chain.combine(
          mapped,
          this.chain.othersOn(mapped.patientId, carrier.contactId, carrier.identId),
        );
    }
    const planned = planUnlinked(mapped, this.deps.store.mirror, {
      matchByPhone: this.options.matchByPhone,
      exclude,
      claimed: this.claimed,
    });
    const { carriers } = planned;
    let { plan } = planned;
    if (plan.action === 'create') {
      const joined = await this.joinPerson(mapped, exclude);
      if (joined) ({ plan, mapped } = joined);
      else if (await this.awaitsOtherClinic(mapped)) return;
    }
    this.carriers(mapped.patientId, carriers);
    const vanished = this.deps.store.vanishedOwnership(mapped.patientId);
    if (plan.action === 'create' && vanished && !this.replaceable.has(mapped.patientId)) {
      // Merged away, the patient's contact may live on in one amoCRM's lists do not show yet: a
      // new one waits for a complete listing begun a pending wait after it vanished (a deep sync).
      this.pending += 1;
      const reason =
        "the patient's amoCRM contact was deleted or merged; a new one is made by the first deep sync 15 minutes on unless a contact carries the patient by then";
      this.stillPending(mapped.patientId, mapped, reason);
      this.deps.logger.info({ patientId: mapped.patientId }, reason);
      return;
    }
    if (plan.action === 'update' && !plan.assumeOwned) {
      this.claimed.add(plan.contactId);
      if (!this.options.dryRun)
        this.deps.store.mirror.claim(plan.contactId, mapped.identField ?? mapped.patientId);
    }
    await this.execute(
      repair && plan.action === 'update' ? { ...plan, repair: true } : plan,
      mapped,
      false,
      vanished,
    );
  }

  /**
   * `inherited`: what the sync owned on the patient's contact that vanished; a contact carrying the
   * patient's IDENT id (a merge's survivor) is taken with only those as the sync's.
   */
  private async execute(
    plan: Plan,
    mapped: MappedContact,
    failedBefore: boolean,
    inherited?: { phones: string[]; emails: string[] },
  ): Promise<void> {
    switch (plan.action) {
      case 'unchanged':
        this.counts.unchanged += 1;
        this.setPatient(mapped, 'unchanged', undefined);
        if (failedBefore && !this.options.dryRun) this.deps.store.clearFailures([mapped.patientId]);
        return;
      case 'adopt':
        // It carries the patient's IDENT id and holds this data: an earlier state of this sync wrote it.
        if (!this.options.dryRun) {
          this.deps.store.saveLinks([
            {
              patientId: mapped.patientId,
              contactId: plan.contactId,
              hash: mapped.hash,
              phones: phonesOf(mapped),
              emails: emailsOf(mapped),
              // As for a take-over (write.ts, ownedOf): only what the sync is known to have owned.
              ownedPhones: inherited ? keptOwned(inherited.phones, phonesOf(mapped)) : [],
              ownedEmails: inherited ? keptOwned(inherited.emails, emailsOf(mapped)) : [],
            },
          ]);
        }
        this.done(mapped, 'linked', plan.contactId);
        return;
      case 'update':
        await this.writer.update({
          mapped,
          contactId: plan.contactId,
          link: plan.link,
          linking: plan.linking,
          repair: plan.repair,
          assumeOwned: plan.assumeOwned,
          ...(plan.assumeOwned && inherited ? { inherited } : {}),
          held: plan.held && { phones: plan.held.phones, emails: plan.held.emails },
          ...(plan.joined ? { joined: plan.joined } : {}),
        });
        return;
      case 'create':
        await this.writer.create(mapped);
        return;
    }
  }

  // ── what the writer reports ────────────────────────────────────────────────────────────────
  done(
    mapped: MappedContact,
    action: 'created' | 'updated' | 'linked' | 'repaired',
    contactId: number,
  ): void {
    this.counts[action] += 1;
    this.setPatient(mapped, action, contactId || undefined);
  }

  failed(failures: readonly { patientId: string; reason: string }[]): void {
    if (failures.length === 0) return;
    if (!this.options.dryRun) this.deps.store.recordFailures(failures, this.now());
    for (const failure of failures) {
      this.counts.failed += 1;
      this.deps.logger.warn(
        { patientId: failure.patientId, reason: failure.reason },
        'patient not synced; retried on a later run',
      );
      if (this.patientResult === undefined || this.patientResult.patientId === failure.patientId) {
        this.patientResult = { patientId: failure.patientId, action: 'failed', reason: failure.reason };
      }
    }
  }

  uncertain(mapped: MappedContact): void {
    this.setPatient(mapped, 'uncertain', undefined);
    this.notConfirmed({ patientId: mapped.patientId }, 'create');
  }

  /**
   * The vanished contacts' patients whose first sighting is a pending wait old (untrusted stamps
   * restarted). A sighting on another boot is judged by the wall clock (unless dated ahead of it),
   * not restarted as a pending create's is: only a deep sync settles it, and where the machine is
   * switched on each day shortly before its deep sync (or after it, which runs it at once) a wait
   * restarted at every boot never ends — the patient would never get a contact again.
   */
  private vanishedLongAgo(options: { restamp: boolean }): Set<string> {
    const old = new Set<string>();
    const restamp: { patientId: string; found: SentStamp }[] = [];
    const now = this.time();
    for (const entry of this.deps.store.vanished()) {
      const sameBoot = now.boot !== '' && entry.found.boot === now.boot;
      const found = sameBoot ? entry.found : { sentAt: entry.found.sentAt, monotonic: undefined, boot: '' };
      const age = judgePending(found, now, this.pendingWaitMs());
      if (age.old) old.add(entry.patientId);
      if (age.restamp) restamp.push({ patientId: entry.patientId, found: age.restamp });
    }
    if (options.restamp) this.deps.store.restampVanished(restamp);
    return old;
  }

  private stamp(): SentStamp {
    return stampOf(this.time());
  }

  /** A patient whose earlier create amoCRM may still apply (counted as pending already): left to a later run. */
  private stillPending(patientId: string, mapped: MappedContact | undefined, reason: string): void {
    this.patientResult = { patientId, action: 'pending', reason, ...(mapped ? { mapped } : {}) };
  }

  carriers(patientId: string, contactIds: readonly number[]): void {
    if (contactIds.length < 2 || this.duplicatesNoted.has(patientId)) return;
    this.duplicatesNoted.add(patientId);
    this.deps.logger.warn(
      { patientId, contactIds },
      'several amoCRM contacts carry this IDENT id; the oldest is kept in sync',
    );
  }

  private setPatient(mapped: MappedContact, action: PatientAction, contactId: number | undefined): void {
    this.patientResult = {
      patientId: mapped.patientId,
      action,
      mapped,
      ...(contactId === undefined ? {} : { contactId }),
    };
  }

  private reportProgress(): void {
    this.progress?.report(this.counts, this.total);
  }
}

/** "000123" and "123" are one patient, as the mapper reads ids. */
const normaliseId = (patientId: string) => patientId.trim().replace(/^0+(?=\d)/, '');
