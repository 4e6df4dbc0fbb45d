import { type BatchItem, type ContactsApi, fieldValues } from '../amocrm/contacts.ts';
import { AmoCrmError, type ValidationProblem } from '../amocrm/errors.ts';
import type { ContactCreate, ContactUpdate } from '../amocrm/types.ts';
import type { PatientSource } from '../ident/patient-source.ts';
import type { Logger } from '../logging/logger.ts';
import { identFieldId, type ResolvedMap } from '../mapping/catalogue.ts';
import { documentFromContact } from '../mapping/compare.ts';
import { documentHash } from '../mapping/hash.ts';
import {
  type MappedContact,
  type MapOutcome,
  type Mapper,
  type PatientRow,
  toCreatePayload,
  toUpdatePayload,
} from '../mapping/mapper.ts';
import { normalisePhone } from '../mapping/transforms/phone.ts';
import type { Finding, Link, RunCounts, RunKind, RunOutcome, StateStore } from '../state/store.ts';
import { compatibleName, ContactIndex, nameWordsOf } from './contact-index.ts';
import { RunScratch } from './scratch.ts';

export interface SyncDeps {
  source: PatientSource;
  mapper: Mapper;
  resolved: ResolvedMap;
  contacts: ContactsApi;
  store: StateStore;
  logger: Logger;
  /** amoCRM requests sent so far by this process (for the run's count). */
  requestCount: () => number;
}

export interface SyncOptions {
  batchSize: number;
  matchByPhone: boolean;
  overlapSeconds: number;
  dryRun?: boolean;
  /** Batches sent at once: hides amoCRM's latency while the rate limiter keeps the pace. */
  maxInFlight?: number;
  /** Unknown patients in one run past which amoCRM's contacts are indexed instead of searched one by one. */
  indexThreshold?: number;
  progressEveryMs?: number;
  /** Asked before each row: true ends the run after the batches in flight (graceful shutdown). */
  shouldStop?: () => boolean;
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
  'unchanged' | 'created' | 'updated' | 'linked' | 'failed' | 'uncertain' | 'not found';

interface Outgoing {
  mapped: MappedContact;
  contactId?: number;
  /** Linking an existing contact (found by IDENT id or phone), not just updating our own. */
  linking: boolean;
}

/** Rows mapped and looked up in the state together: one query per chunk instead of one per row. */
const LOOKUP_CHUNK = 250;

const emptyCounts = (): RunCounts => ({
  read: 0,
  unchanged: 0,
  created: 0,
  updated: 0,
  linked: 0,
  failed: 0,
  requests: 0,
});

/**
 * One sync run: patients from the source → map → hash → only what differs goes to amoCRM, in
 * batches, with every batch's bookkeeping committed to the state store as one transaction. The
 * three kinds differ only in which patients they read.
 */
export class SyncRun {
  private readonly deps: SyncDeps;
  private readonly options: Required<Omit<SyncOptions, 'shouldStop'>> & Pick<SyncOptions, 'shouldStop'>;
  private readonly identFieldId: number;
  private counts = emptyCounts();
  private index: ContactIndex | undefined;
  private readonly unknown: MappedContact[] = [];
  private readonly updates: Outgoing[] = [];
  private readonly creates: MappedContact[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private fatal: Error | undefined;
  /** Patients read in this run, amoCRM's contact index: on disk, so memory stays flat. */
  private scratch!: RunScratch;
  /** Contacts linked by a search (before any index): an index built later would not know. */
  private readonly claimedContacts = new Set<number>();
  private readonly duplicates: Finding[] = [];
  private readonly recheck = new Set<string>();
  private lastProgress = Date.now();
  private startedAt = Date.now();
  private total: number | undefined;
  private patientResult: SyncResult['patient'];
  private readonly trackDuplicates = new Set<string>();

  constructor(deps: SyncDeps, options: SyncOptions) {
    this.deps = deps;
    this.options = {
      dryRun: false,
      maxInFlight: 3,
      indexThreshold: 25,
      progressEveryMs: 5000,
      ...options,
    };
    this.identFieldId = identFieldId(deps.resolved);
  }

  async run(request: SyncRequest): Promise<SyncResult> {
    const { store, logger } = this.deps;
    const dryRun = this.options.dryRun;
    this.startedAt = Date.now();
    const requestsAtStart = this.deps.requestCount();
    const runId = store.startRun(request.kind, dryRun);
    let outcome: RunOutcome = 'ok';
    let error: Error | undefined;
    let orphans: Finding[] = [];
    logger.info({ kind: request.kind, dryRun, runId }, 'sync started');
    try {
      this.scratch = new RunScratch();
      const clock = await this.deps.source.now();
      if (!dryRun) await this.resolvePendingCreates();
      if (request.kind === 'deep') {
        this.total = (await this.deps.source.stats()).patients;
        await this.buildIndex('deep sync');
      }
      await this.consume(this.rowsFor(request));
      if (request.kind !== 'single' && !this.stopping()) await this.recheckFailed();
      await this.flush(true);
      if (this.fatal) throw this.fatal;
      if (this.stopping()) {
        outcome = 'stopped';
      } else {
        if (request.kind === 'deep') orphans = this.reconcile();
        if (request.kind !== 'single' && !dryRun) store.setCheckpoint(clock);
      }
    } catch (thrown) {
      outcome = 'failed';
      error = thrown as Error;
      await this.settle();
      if (this.fatal && this.fatal !== error) error = this.fatal;
    } finally {
      this.scratch?.close();
    }
    this.counts.requests = this.deps.requestCount() - requestsAtStart;
    store.finishRun(runId, outcome, this.counts, error?.message);
    const durationMs = Date.now() - this.startedAt;
    const summary = { kind: request.kind, outcome, ...this.counts, durationMs, dryRun };
    if (outcome === 'failed') logger.error({ ...summary, err: error }, 'sync failed');
    else logger.info(summary, outcome === 'stopped' ? 'sync stopped' : 'sync finished');
    return {
      runId,
      kind: request.kind,
      outcome,
      error,
      durationMs,
      ...this.counts,
      duplicates: this.duplicates.length,
      orphans: orphans.length,
      patient: this.patientResult,
    };
  }

  private stopping(): boolean {
    return this.fatal !== undefined || (this.options.shouldStop?.() ?? false);
  }

  private async *rowsFor(request: SyncRequest): AsyncGenerator<PatientRow> {
    const source = this.deps.source;
    if (request.kind === 'single') {
      const row = await source.one(request.patientId);
      if (row) yield row;
      else this.patientResult = { patientId: request.patientId, action: 'not found' };
      return;
    }
    const checkpoint = this.deps.store.checkpoint();
    if (request.kind === 'deep' || !checkpoint) {
      yield* source.all();
      return;
    }
    yield* source.changedSince(new Date(checkpoint.getTime() - this.options.overlapSeconds * 1000));
  }

  private async consume(rows: AsyncIterable<PatientRow>): Promise<void> {
    let chunk: PatientRow[] = [];
    for await (const row of rows) {
      if (this.stopping()) return;
      chunk.push(row);
      if (chunk.length >= LOOKUP_CHUNK) {
        await this.handleRows(chunk);
        chunk = [];
      }
    }
    await this.handleRows(chunk);
  }

  /** Patients that failed before (when their retry is due) and creates a crash left unresolved. */
  private async recheckFailed(): Promise<void> {
    const due = [...new Set([...this.recheck, ...this.deps.store.failuresDue()])].filter(
      (id) => !this.scratch.wasSeen(id),
    );
    for (const patientId of due) {
      if (this.stopping()) return;
      const row = await this.deps.source.one(patientId);
      if (row) await this.handleRows([row]);
      else this.deps.store.clearFailures([patientId]);
    }
  }

  private async handleRows(rows: readonly PatientRow[]): Promise<void> {
    const outcomes = rows.map((row) => this.deps.mapper(row));
    const ids = outcomes.flatMap((outcome) => (outcome.ok ? [outcome.contact.patientId] : []));
    const links = this.deps.store.links(ids);
    const failed = this.deps.store.failedAmong(ids);
    for (const outcome of outcomes) {
      if (this.stopping()) return;
      const patientId = outcome.ok ? outcome.contact.patientId : undefined;
      await this.handleOutcome(
        outcome,
        patientId === undefined ? {} : { link: links.get(patientId), failedBefore: failed.has(patientId) },
      );
    }
  }

  private async handleOutcome(
    outcome: MapOutcome,
    known: { link?: Link | undefined; failedBefore?: boolean },
  ): Promise<void> {
    const { link, failedBefore } = known;
    this.counts.read += 1;
    this.reportProgress();
    if (!outcome.ok) {
      if (outcome.patientId === undefined) {
        // Without an id the row can be neither linked nor fetched again: counted and logged only.
        this.counts.failed += 1;
        this.deps.logger.warn(
          { row: this.counts.read, reason: outcome.reason },
          'row without a usable patient id skipped',
        );
      } else if (this.scratch.markSeen(outcome.patientId)) {
        this.recordFailures([{ patientId: outcome.patientId, reason: outcome.reason }]);
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
    if (link) {
      if (link.hash === mapped.hash) {
        this.counts.unchanged += 1;
        this.setPatient(mapped, 'unchanged', link.contactId);
        if (failedBefore) this.deps.store.clearFailures([mapped.patientId]);
        return;
      }
      await this.queueUpdate({ mapped, contactId: link.contactId, linking: false });
      return;
    }
    if (this.index) {
      await this.resolveWithIndex(mapped);
      return;
    }
    this.unknown.push(mapped);
    if (this.unknown.length >= this.options.indexThreshold) {
      await this.buildIndex(`${this.unknown.length} patients unknown to the state`);
      await this.drainUnknown();
    }
  }

  private async buildIndex(reason: string): Promise<void> {
    if (this.index) return;
    const started = Date.now();
    const store = this.deps.store;
    this.index = await ContactIndex.build(
      this.scratch,
      this.deps.contacts,
      this.deps.resolved,
      this.identFieldId,
      (identIds) => store.linkedAmong(identIds),
    );
    this.deps.logger.info(
      {
        contacts: this.index.contacts,
        withIdentId: this.index.withIdentId,
        ms: Date.now() - started,
        reason,
      },
      'indexed amoCRM contacts',
    );
  }

  private async drainUnknown(): Promise<void> {
    while (this.unknown.length > 0) {
      const mapped = this.unknown.shift()!;
      if (this.index) await this.resolveWithIndex(mapped);
      else await this.resolveBySearch(mapped);
    }
  }

  /** A patient the state does not know: its contact by IDENT id, else (optionally) by phone, else a new one. */
  private async resolveWithIndex(mapped: MappedContact): Promise<void> {
    const index = this.index!;
    const hits = index.byIdent(mapped.patientId);
    if (hits.length > 0) {
      this.noteDuplicates(
        mapped.patientId,
        hits.map((hit) => hit.id),
      );
      await this.adopt(mapped, hits[0]!.id, hits[0]!.hash);
      return;
    }
    const byPhone = this.phoneCandidates(mapped, (phone) => index.byPhone(phone));
    if (byPhone !== undefined) {
      index.claim(mapped.patientId, { id: byPhone, hash: mapped.hash });
      await this.queueUpdate({ mapped, contactId: byPhone, linking: true });
      return;
    }
    await this.queueCreate(mapped);
  }

  private async resolveBySearch(mapped: MappedContact): Promise<void> {
    const { contacts, resolved } = this.deps;
    const hits = await contacts.findByFieldValue(this.identFieldId, mapped.patientId);
    if (hits.length > 0) {
      const sorted = [...hits].sort((a, b) => a.id - b.id);
      this.noteDuplicates(
        mapped.patientId,
        sorted.map((hit) => hit.id),
      );
      await this.adopt(mapped, sorted[0]!.id, documentHash(documentFromContact(sorted[0]!, resolved)));
      return;
    }
    if (this.options.matchByPhone && mapped.document.phones.length > 0) {
      // Contacts without an IDENT id that carry one of the patient's phones, by normalised phone.
      const byPhone = new Map<string, { id: number; nameWords: string[] }[]>();
      for (const phone of mapped.document.phones) {
        const found = await contacts.findByPhone(phone.value, (written) => normalisePhone(written).phone);
        const free = found.filter((contact) =>
          fieldValues(contact, { fieldId: this.identFieldId }).every((value) => value.trim() === ''),
        );
        byPhone.set(
          phone.value,
          free.map((contact) => ({ id: contact.id, nameWords: nameWordsOf(contact) })),
        );
      }
      const contactId = this.phoneCandidates(mapped, (phone) => byPhone.get(phone) ?? []);
      if (contactId !== undefined) {
        await this.queueUpdate({ mapped, contactId, linking: true });
        return;
      }
    }
    await this.queueCreate(mapped);
  }

  /**
   * The one contact without an IDENT id that shares a phone with the patient and has a compatible
   * name. None, or more than one, means a new contact: a family sharing a number stays apart.
   */
  private phoneCandidates(
    mapped: MappedContact,
    lookup: (phone: string) => { id: number; nameWords: string[] }[],
  ): number | undefined {
    if (!this.options.matchByPhone) return undefined;
    const patient = { firstName: mapped.document.first_name, lastName: mapped.document.last_name };
    const matches = new Set<number>();
    for (const phone of mapped.document.phones) {
      for (const candidate of lookup(phone.value)) {
        if (!this.claimedContacts.has(candidate.id) && compatibleName(patient, candidate.nameWords))
          matches.add(candidate.id);
      }
    }
    if (matches.size !== 1) return undefined;
    const [id] = matches;
    if (!this.index) this.claimedContacts.add(id!);
    return id;
  }

  /** Links an existing contact carrying the patient's IDENT id: nothing is sent when it already holds the same data. */
  private async adopt(mapped: MappedContact, contactId: number, theirHash: string): Promise<void> {
    // With an index the contact is already known to carry this IDENT id, so it never matches by phone.
    if (!this.index) this.claimedContacts.add(contactId);
    if (theirHash === mapped.hash) {
      if (!this.options.dryRun)
        this.deps.store.saveLinks([{ patientId: mapped.patientId, contactId, hash: mapped.hash }]);
      this.counts.linked += 1;
      this.setPatient(mapped, 'linked', contactId);
      return;
    }
    await this.queueUpdate({ mapped, contactId, linking: true });
  }

  private noteDuplicates(patientId: string, contactIds: number[]): void {
    if (contactIds.length < 2 || this.trackDuplicates.has(patientId)) return;
    this.trackDuplicates.add(patientId);
    this.duplicates.push({ kind: 'duplicate', patientId, contactIds });
    this.deps.logger.warn(
      { patientId, contactIds },
      'several amoCRM contacts carry this IDENT id; the oldest is kept in sync',
    );
  }

  // ── sending ────────────────────────────────────────────────────────────────────────────────
  private async queueUpdate(item: Outgoing): Promise<void> {
    this.updates.push(item);
    if (this.updates.length >= this.options.batchSize)
      await this.dispatch(this.sendUpdates(this.updates.splice(0)));
  }

  private async queueCreate(mapped: MappedContact): Promise<void> {
    this.creates.push(mapped);
    if (this.creates.length >= this.options.batchSize)
      await this.dispatch(this.sendCreates(this.creates.splice(0)));
  }

  private async flush(final: boolean): Promise<void> {
    if (final && !this.stopping()) await this.drainUnknown();
    if (!this.stopping()) {
      if (this.updates.length > 0) await this.dispatch(this.sendUpdates(this.updates.splice(0)));
      if (this.creates.length > 0) await this.dispatch(this.sendCreates(this.creates.splice(0)));
    }
    await this.settle();
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async dispatch(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error: unknown) => {
      this.fatal ??= error as Error;
    });
    const entry = tracked.finally(() => this.inFlight.delete(entry));
    this.inFlight.add(entry);
    while (this.inFlight.size >= this.options.maxInFlight) await Promise.race(this.inFlight);
    if (this.fatal) throw this.fatal;
  }

  private async sendUpdates(batch: Outgoing[]): Promise<void> {
    if (this.options.dryRun) {
      for (const item of batch) this.count(item.mapped, item.linking ? 'linked' : 'updated', item.contactId);
      return;
    }
    const items: BatchItem<ContactUpdate>[] = batch.map((item) => ({
      requestId: `u${item.mapped.patientId}`,
      body: toUpdatePayload(item.mapped.document, item.contactId!),
    }));
    const result = await this.deps.contacts.write('patch', items);
    const saved: Link[] = [];
    const failures: { patientId: string; reason: string }[] = [];
    for (const item of batch) {
      const requestId = `u${item.mapped.patientId}`;
      const refused = result.refused.get(requestId);
      if (refused) {
        if (refused.some((problem) => problem.path === 'id')) {
          this.deps.store.unlink(item.mapped.patientId);
          failures.push({
            patientId: item.mapped.patientId,
            reason: `contact ${item.contactId} no longer exists in amoCRM; it will be created again`,
          });
        } else failures.push({ patientId: item.mapped.patientId, reason: refusalReason(refused) });
        continue;
      }
      saved.push({ patientId: item.mapped.patientId, contactId: item.contactId!, hash: item.mapped.hash });
      this.count(item.mapped, item.linking ? 'linked' : 'updated', item.contactId);
    }
    this.deps.store.saveLinks(saved);
    this.recordFailures(failures);
  }

  private async sendCreates(batch: MappedContact[]): Promise<void> {
    if (this.options.dryRun) {
      for (const mapped of batch) this.count(mapped, 'created');
      return;
    }
    const { store, contacts } = this.deps;
    const requestId = (mapped: MappedContact) => `c${mapped.patientId}`;
    // Written before the request: after a crash or a lost answer these are looked up, not created again.
    store.addPending(
      batch.map((mapped) => ({
        patientId: mapped.patientId,
        requestId: requestId(mapped),
        hash: mapped.hash,
      })),
    );
    const result = await contacts.write(
      'post',
      batch.map((mapped) => ({
        requestId: requestId(mapped),
        body: toCreatePayload(mapped.document) as ContactCreate,
      })),
    );
    const saved: Link[] = [];
    const failures: { patientId: string; reason: string }[] = [];
    const uncertain: MappedContact[] = [];
    for (const mapped of batch) {
      const id = result.stored.get(requestId(mapped));
      const refused = result.refused.get(requestId(mapped));
      if (id !== undefined) {
        saved.push({ patientId: mapped.patientId, contactId: id, hash: mapped.hash });
        this.count(mapped, 'created', id);
        this.index?.claim(mapped.patientId, { id, hash: mapped.hash });
      } else if (refused) failures.push({ patientId: mapped.patientId, reason: refusalReason(refused) });
      else uncertain.push(mapped);
    }
    store.saveLinks(saved);
    this.recordFailures(failures);
    if (uncertain.length > 0) await this.resolveUncertain(uncertain);
  }

  /** Creates whose answer was lost: whatever amoCRM holds now decides, never a second create. */
  private async resolveUncertain(batch: MappedContact[]): Promise<void> {
    const saved: Link[] = [];
    for (const mapped of batch) {
      const hits = (await this.deps.contacts.findByFieldValue(this.identFieldId, mapped.patientId)).sort(
        (a, b) => a.id - b.id,
      );
      if (hits.length > 0) {
        this.noteDuplicates(
          mapped.patientId,
          hits.map((hit) => hit.id),
        );
        saved.push({ patientId: mapped.patientId, contactId: hits[0]!.id, hash: mapped.hash });
        this.count(mapped, 'created', hits[0]!.id);
        this.index?.claim(mapped.patientId, { id: hits[0]!.id, hash: mapped.hash });
      } else {
        // Left pending: the next run looks again before anything is created.
        this.counts.failed += 1;
        this.setPatient(mapped, 'uncertain');
        this.deps.logger.warn(
          { patientId: mapped.patientId },
          'create not confirmed by amoCRM; checked again next run',
        );
      }
    }
    this.deps.store.saveLinks(saved);
  }

  /** After a crash: creates that were sent but never recorded are found in amoCRM, or re-read and sent again. */
  private async resolvePendingCreates(): Promise<void> {
    const pending = this.deps.store.pending();
    if (pending.length === 0) return;
    this.deps.logger.info({ pending: pending.length }, 'resolving creates left by an interrupted run');
    if (pending.length >= this.options.indexThreshold)
      await this.buildIndex('creates left by an interrupted run');
    const saved: Link[] = [];
    const notFound: string[] = [];
    for (const entry of pending) {
      const ids = this.index
        ? this.index.byIdent(entry.patientId).map((hit) => hit.id)
        : (await this.deps.contacts.findByFieldValue(this.identFieldId, entry.patientId))
            .map((hit) => hit.id)
            .sort((a, b) => a - b);
      if (ids.length > 0) {
        this.noteDuplicates(entry.patientId, ids);
        saved.push({ patientId: entry.patientId, contactId: ids[0]!, hash: entry.hash });
      } else {
        notFound.push(entry.patientId);
        this.recheck.add(entry.patientId);
      }
    }
    this.deps.store.saveLinks(saved);
    this.deps.store.removePending(notFound);
    this.counts.linked += saved.length;
  }

  private reconcile(): Finding[] {
    const index = this.index;
    if (!index) return [];
    const duplicates = index.duplicates().map(({ identId, contactIds }) => ({
      kind: 'duplicate' as const,
      patientId: identId,
      contactIds,
    }));
    // A patient whose row failed is still a patient: its contact is not an orphan.
    const unseen = index.unseen();
    const failed = this.deps.store.failedAmong(unseen.map(({ identId }) => identId));
    const orphans = unseen
      .filter(({ identId }) => !failed.has(identId))
      .map(({ identId, contactIds }) => ({ kind: 'orphan' as const, patientId: identId, contactIds }));
    if (!this.options.dryRun) {
      this.deps.store.replaceFindings('duplicate', duplicates);
      this.deps.store.replaceFindings('orphan', orphans);
    }
    for (const duplicate of duplicates) this.noteDuplicates(duplicate.patientId, duplicate.contactIds);
    if (orphans.length > 0) {
      this.deps.logger.warn(
        { orphans: orphans.length },
        'amoCRM contacts carry IDENT ids of patients that no longer exist; they are left as they are',
      );
    }
    return orphans;
  }

  // ── bookkeeping ────────────────────────────────────────────────────────────────────────────
  private recordFailures(failures: { patientId: string; reason: string }[]): void {
    if (failures.length === 0) return;
    if (!this.options.dryRun) this.deps.store.recordFailures(failures);
    for (const failure of failures) {
      this.counts.failed += 1;
      this.deps.logger.warn(
        { patientId: failure.patientId, reason: failure.reason },
        'patient not synced; retried on a later run',
      );
      if (this.patientResult === undefined) {
        this.patientResult = { patientId: failure.patientId, action: 'failed', reason: failure.reason };
      }
    }
  }

  private count(mapped: MappedContact, action: 'created' | 'updated' | 'linked', contactId?: number): void {
    this.counts[action] += 1;
    this.setPatient(mapped, action, contactId);
  }

  private setPatient(mapped: MappedContact, action: PatientAction, contactId?: number): void {
    this.patientResult = {
      patientId: mapped.patientId,
      action,
      mapped,
      ...(contactId === undefined ? {} : { contactId }),
    };
  }

  private reportProgress(): void {
    const now = Date.now();
    if (now - this.lastProgress < this.options.progressEveryMs) return;
    this.lastProgress = now;
    const seconds = (now - this.startedAt) / 1000;
    const rate = this.counts.read / Math.max(seconds, 0.001);
    const eta =
      this.total !== undefined && rate > 0
        ? Math.max(0, Math.round((this.total - this.counts.read) / rate))
        : undefined;
    this.deps.logger.info(
      {
        done: this.counts.read,
        total: this.total,
        perSecond: Math.round(rate),
        etaSeconds: eta,
        ...this.counts,
      },
      'sync progress',
    );
  }
}

function refusalReason(problems: readonly ValidationProblem[]): string {
  return `amoCRM refused the contact: ${problems.map((problem) => `${problem.path || 'item'}: ${problem.detail || problem.code}`).join('; ')}`;
}
