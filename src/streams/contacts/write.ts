import { type BatchItem, type ContactsApi, heldValues } from '../../amocrm/contacts.ts';
import type { ValidationProblem } from '../../amocrm/errors.ts';
import type { Contact, ContactCreate, ContactUpdate, CustomFieldValueOut } from '../../amocrm/types.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Clock } from '../../support/clock.ts';
import type { ResolvedMap } from '../../mapping/catalogue.ts';
import { type MappedContact, toCreatePayload, toUpdatePayload } from '../../mapping/mapper.ts';
import type { Link, Pending, SavedLink, StateStore } from '../../state/store.ts';
import type { MirrorRefresher } from './mirror-refresh.ts';
import { InFlight } from '../runner/in-flight.ts';
import { judgePending, type PendingClock, type SentStamp, stampOf } from '../runner/pending-age.ts';
import { describe, inHalves, problemsByItem, refusal, withoutRefusedValues } from '../runner/refusals.ts';
import {
  emailsOf,
  holdsAll,
  keptOwned,
  type Merge,
  mergeMultitext,
  type MultitextKind,
  normaliseValue,
  phonesOf,
  sameList,
} from './multitext.ts';

/** What the writer tells the run about each patient it was given. */
export interface WriteReport {
  done(mapped: MappedContact, action: 'created' | 'updated' | 'linked' | 'repaired', contactId: number): void;
  failed(failures: readonly { patientId: string; reason: string }[]): void;
  /** A create whose answer was lost and which amoCRM does not show yet: left pending for the next run. */
  uncertain(mapped: MappedContact): void;
  /** Several contacts carry the patient's IDENT id (the oldest is kept in sync). */
  carriers(patientId: string, contactIds: readonly number[]): void;
  /** The contact is gone from amoCRM: the run matches the patient again without it. */
  resolveAgain(mapped: MappedContact, goneContactId: number): Promise<void>;
}

export interface UpdateItem {
  mapped: MappedContact;
  contactId: number;
  link: Link | undefined;
  linking: boolean;
  repair: boolean;
  /**
   * Taking over a contact that already carries the patient's IDENT id with no link in the state:
   * only `inherited` counts as the sync's there (nothing, without it).
   */
  assumeOwned: boolean;
  /** What the sync owned on the patient's previous contact, which vanished (a merge's survivor). */
  inherited?: { phones: string[]; emails: string[] };
  /** The contact's phones and e-mails as the mirror knows them (to notice ones a manager removed). */
  held: { phones: string[]; emails: string[] } | undefined;
}

export interface WriterDeps {
  contacts: ContactsApi;
  store: StateStore;
  refresher: MirrorRefresher;
  resolved: ResolvedMap;
  logger: Logger;
  /** Stamps creates when sent and judges how old pending ones are. */
  time: PendingClock;
}

/**
 * How a PATCH clears PHONE or EMAIL. The official PHP library clears any field with `values: null`
 * (NullCustomFieldValueCollection; amocrm-api-php #585); no document says whether amoCRM also takes
 * `values: []` for a multitext, nor whether it takes null there. So null is sent first; a refusal
 * naming the cleared field makes the writer send `[]` instead, and the account's answer is kept.
 */
export type ClearForm = 'null' | 'empty-list';
const CLEAR_FORM_KEY = 'multitext_clear_form';

export interface WriterOptions {
  batchSize: number;
  /** Batches sent at once: hides amoCRM's latency while the rate limiter keeps the pace. */
  maxInFlight: number;
  dryRun: boolean;
  /** How long after it was sent a create not seen in amoCRM counts as lost (request timeout + margin). */
  pendingWaitMs: number;
}

/** What became of the creates an earlier run left pending. */
export interface PendingSettled {
  /** Found in amoCRM and linked. */
  confirmed: string[];
  /** Old enough and still not listed: due now, sent again. */
  missing: number;
  /** Not listed yet, but amoCRM may still apply them: left pending, not sent again. */
  waiting: string[];
}

/** A write ready to send, with what the state records once amoCRM has it. */
interface Prepared<Body> {
  requestId: string;
  body: Body;
  mapped: MappedContact;
  update?: UpdateItem;
  link: Omit<SavedLink, 'contactId'>;
  refused: { field: string; detail: string }[];
  /** The contact's normalised values after the write, where the writer knows them. */
  mirrorPhones?: string[];
  mirrorEmails?: string[];
  /**
   * Whether the contact holds all of IDENT's phones / e-mails once this write lands (it sends them,
   * or the contact was read or mirrored holding them): a refusal of PHONE / EMAIL then ends.
   */
  multitextLands?: { phone: boolean; email: boolean };
  /** The clear of PHONE/EMAIL was refused in one spelling and is sent in the other. */
  clearFormSwitched?: boolean;
}

/** Refusal rounds and halvings one batch may go through before its remaining items are failed. */
const MAX_ROUNDS = 12;

/**
 * How a batch is written and its refusals isolated. A value amoCRM refuses costs that field of that
 * patient: the contact is sent again without it and the refusal is recorded. Any other refusal of a
 * batch is narrowed down by halving it until the one item is found, which alone fails. A create is
 * never sent twice without proof that the first did not land: patients are recorded as pending
 * before the request, and an unclear answer is settled by listing the newest contacts.
 */
export class BatchWriter {
  private readonly deps: WriterDeps;
  private readonly options: WriterOptions;
  private readonly report: WriteReport;
  private readonly updates: UpdateItem[] = [];
  private readonly creates: MappedContact[] = [];
  private readonly inFlight: InFlight;
  private readonly fieldKeys: Map<number, string>;
  private readonly clock: Pick<Clock, 'now'>;
  private clearForm: ClearForm;

  constructor(deps: WriterDeps, options: WriterOptions, report: WriteReport) {
    this.deps = deps;
    this.options = options;
    this.report = report;
    this.fieldKeys = new Map(deps.resolved.fields.map((field) => [field.fieldId, field.spec.key]));
    this.inFlight = new InFlight(options.maxInFlight);
    this.clock = deps.time.clock;
    this.clearForm = deps.store.getMeta(CLEAR_FORM_KEY) === 'empty-list' ? 'empty-list' : 'null';
  }

  private now(): Date {
    return new Date(this.clock.now());
  }

  /** The first error a batch threw (403, a lost update answer…): the run stops with it. */
  get fatal(): Error | undefined {
    return this.inFlight.fatal;
  }

  async update(item: UpdateItem): Promise<void> {
    this.updates.push(item);
    if (this.updates.length >= this.options.batchSize)
      await this.dispatch(this.sendUpdates(this.updates.splice(0)));
  }

  async create(mapped: MappedContact): Promise<void> {
    this.creates.push(mapped);
    if (this.creates.length >= this.options.batchSize)
      await this.dispatch(this.sendCreates(this.creates.splice(0)));
  }

  /** Sends what is queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    if (!this.fatal) {
      if (this.updates.length > 0) await this.dispatch(this.sendUpdates(this.updates.splice(0)));
      if (this.creates.length > 0) await this.dispatch(this.sendCreates(this.creates.splice(0)));
    }
    await this.settle();
  }

  get queued(): number {
    return this.updates.length + this.creates.length;
  }

  settle(): Promise<void> {
    return this.inFlight.settle();
  }

  private dispatch(work: Promise<void>): Promise<void> {
    return this.inFlight.dispatch(work);
  }

  // ── creates left by an earlier run ─────────────────────────────────────────────────────────
  /**
   * Creates an earlier run sent without learning their fate: found in amoCRM → linked. Not there
   * → lost only when amoCRM has had time to apply it (sent longer ago than the request timeout
   * plus a margin, judged before the listing that proves it absent begins): then a failure due
   * now, in the same transaction that ends the pending entry, so the patient is read and sent
   * again in this run or, if it ends first, the next. A younger one stays pending, untouched.
   */
  async confirmPending(pending: readonly Pending[]): Promise<PendingSettled> {
    if (pending.length === 0) return { confirmed: [], missing: 0, waiting: [] };
    const old = new Set<string>();
    const restamp: { patientId: string; sent: SentStamp }[] = [];
    for (const entry of pending) {
      const age = judgePending(entry.sent, this.deps.time, this.options.pendingWaitMs);
      if (age.old) old.add(entry.patientId);
      if (age.restamp) restamp.push({ patientId: entry.patientId, sent: age.restamp });
    }
    this.deps.store.restampPending(restamp);
    // Begun after the ages were judged: what it does not list had had its time.
    await this.deps.refresher.newestAbove(Math.min(...pending.map((entry) => entry.knownMaxId)));
    const found: SavedLink[] = [];
    const missing: { patientId: string; reason: string; dueNow: boolean }[] = [];
    const waiting: string[] = [];
    for (const entry of pending) {
      const carriers = this.deps.store.mirror.byIdent(entry.patientId);
      if (carriers.length === 0) {
        if (!old.has(entry.patientId)) waiting.push(entry.patientId);
        else
          missing.push({
            patientId: entry.patientId,
            reason: 'a create sent earlier never reached amoCRM; it is sent again',
            dueNow: true,
          });
        continue;
      }
      this.report.carriers(
        entry.patientId,
        carriers.map((row) => row.contactId),
      );
      found.push({
        patientId: entry.patientId,
        contactId: carriers[0]!.contactId,
        hash: entry.hash,
        phones: entry.phones,
        emails: entry.emails,
        // A PHONE or EMAIL refused was not written: none of it is the sync's (as savedLink does).
        ownedPhones: entry.refused.some((refused) => refused.field === 'PHONE') ? [] : entry.phones,
        ownedEmails: entry.refused.some((refused) => refused.field === 'EMAIL') ? [] : entry.emails,
        refused: entry.refused,
      });
    }
    this.deps.store.saveLinks(found);
    this.deps.store.recordFailures(missing);
    return { confirmed: found.map((link) => link.patientId), missing: missing.length, waiting };
  }

  // ── updates ────────────────────────────────────────────────────────────────────────────────
  private async sendUpdates(batch: UpdateItem[]): Promise<void> {
    if (this.options.dryRun) {
      for (const item of batch) this.report.done(item.mapped, actionOf(item), item.contactId);
      return;
    }
    const needs = batch.map((item) => ({
      phone: needsMerge('phone', item),
      email: needsMerge('email', item),
    }));
    // The contacts' current PHONE and EMAIL, only where they must be merged: one request per batch.
    const toRead = batch
      .filter((_, index) => needs[index]!.phone || needs[index]!.email)
      .map((item) => item.contactId);
    const held = new Map<number, Contact>();
    if (toRead.length > 0)
      for (const contact of await this.deps.contacts.getByIds(toRead)) held.set(contact.id, contact);
    const ready: Prepared<ContactUpdate>[] = [];
    for (const [index, item] of batch.entries()) {
      const need = needs[index]!;
      const contact = held.get(item.contactId);
      if ((need.phone || need.email) && !contact) {
        await this.gone(item.mapped, item.contactId);
        continue;
      }
      ready.push(this.prepareUpdate(item, need, contact));
    }
    // Owned before sent: a kill after amoCRM applied the PATCH but before the link is saved must not
    // leave the values just written looking like a manager's (kept for ever once IDENT drops them).
    // Owning a value that never landed costs nothing: there is nothing of it to remove. A contact
    // being taken over is linked now, with only what the sync will own there (store.reserveLinks).
    const widen: Parameters<StateStore['widenOwned']>[0][number][] = [];
    const reserve: Parameters<StateStore['reserveLinks']>[0][number][] = [];
    for (const { update, mapped, link } of ready) {
      if (update?.link)
        widen.push({
          patientId: mapped.patientId,
          phones: union(update.link.ownedPhones, link.ownedPhones),
          emails: union(update.link.ownedEmails, link.ownedEmails),
        });
      else if (update?.linking)
        reserve.push({
          patientId: mapped.patientId,
          contactId: update.contactId,
          ownedPhones: link.ownedPhones,
          ownedEmails: link.ownedEmails,
        });
    }
    this.deps.store.widenOwned(widen);
    this.deps.store.reserveLinks(reserve, this.now());
    await this.patch(ready, 0);
  }

  private prepareUpdate(
    item: UpdateItem,
    need: { phone: boolean; email: boolean },
    contact: Contact | undefined,
  ): Prepared<ContactUpdate> {
    const { mapped } = item;
    const merged: Partial<Record<MultitextKind, Merge>> = {};
    for (const kind of ['phone', 'email'] as const) {
      if (!need[kind] || !contact) continue;
      const ours = kind === 'phone' ? mapped.document.phones : mapped.document.emails;
      const ownedBefore = ownedOf(kind, item);
      merged[kind] = mergeMultitext(kind, heldValues(contact, { code: codeOf(kind) }), ours, ownedBefore);
      if (merged[kind].clears) {
        this.deps.logger.debug(
          { patientId: mapped.patientId, field: codeOf(kind) },
          'IDENT no longer has any of the values the sync wrote here, and nobody else added one: the field is cleared',
        );
      }
    }
    const send = (merge: Merge | undefined) =>
      merge && merge.changed && !merge.clears ? merge.values : undefined;
    const after = (kind: MultitextKind, merge: Merge | undefined) =>
      merge && contact
        ? (merge.changed ? merge.values : heldValues(contact, { code: codeOf(kind) })).map((value) =>
            normaliseValue(kind, String(value.value ?? '')),
          )
        : undefined;
    const owned = (kind: MultitextKind, merge: Merge | undefined) =>
      merge
        ? merge.owned
        : keptOwned(ownedOf(kind, item), kind === 'phone' ? phonesOf(mapped) : emailsOf(mapped));
    // Merged: the list sent holds IDENT's values, or the contact as read already did. Not merged:
    // only a deep sync's mirror says whether the contact holds them.
    const lands = (kind: MultitextKind, merge: Merge | undefined) => {
      if (merge) return true;
      const held = item.held ? (kind === 'phone' ? item.held.phones : item.held.emails) : undefined;
      return held !== undefined && holdsAll(held, kind === 'phone' ? phonesOf(mapped) : emailsOf(mapped));
    };
    const body = toUpdatePayload(mapped.document, item.contactId, {
      phones: send(merged.phone),
      emails: send(merged.email),
    });
    const clears = (['phone', 'email'] as const)
      .filter((kind) => merged[kind]?.clears)
      .map((kind) => ({ field_code: codeOf(kind), values: this.clearForm === 'null' ? null : [] }));
    if (clears.length > 0) body.custom_fields_values = [...clears, ...(body.custom_fields_values ?? [])];
    return {
      requestId: `u${mapped.patientId}`,
      body,
      mapped,
      update: item,
      link: {
        patientId: mapped.patientId,
        hash: mapped.hash,
        phones: phonesOf(mapped),
        emails: emailsOf(mapped),
        ownedPhones: owned('phone', merged.phone),
        ownedEmails: owned('email', merged.email),
      },
      refused: [],
      mirrorPhones: after('phone', merged.phone),
      mirrorEmails: after('email', merged.email),
      multitextLands: { phone: lands('phone', merged.phone), email: lands('email', merged.email) },
    };
  }

  private async patch(items: Prepared<ContactUpdate>[], round: number): Promise<void> {
    if (items.length === 0) return;
    if (round > MAX_ROUNDS) return this.failAll(items, 'amoCRM kept refusing the update');
    const outcome = await this.deps.contacts.write('patch', items.map(asBatchItem));
    if (outcome.kind === 'stored') return this.updated(items);
    if (outcome.kind === 'uncertain') throw outcome.error;
    if (outcome.kind === 'refused') {
      const byItem = problemsByItem(items, outcome.problems);
      if (byItem) {
        const next: Prepared<ContactUpdate>[] = [];
        for (const item of items) {
          const problems = byItem.get(item.requestId);
          // An update is safe to send twice: the items amoCRM did not object to go again.
          if (!problems) {
            next.push(item);
            continue;
          }
          const switched = this.otherClearForm(item, problems);
          if (switched && switched.rest.length === 0) {
            next.push(switched.item);
            continue;
          }
          const repaired = switched
            ? this.withoutRefused(switched.item, switched.rest)
            : this.withoutRefused(item, problems);
          if (repaired === 'gone') await this.gone(item.mapped, item.update!.contactId);
          else if (typeof repaired === 'string') this.fail(item, repaired);
          else next.push(repaired);
        }
        return this.patch(next, round + 1);
      }
    }
    // Refused without saying which item (or with another 4xx): halve until the one is found.
    if (items.length > 1) {
      await inHalves(items, (part) => this.patch(part, round + 1));
      return;
    }
    const [item] = items as [Prepared<ContactUpdate>];
    // amoCRM's answer to a PATCH of a deleted contact is not documented: whether it still exists decides.
    if (!(await this.deps.contacts.getOne(item.update!.contactId)))
      return this.gone(item.mapped, item.update!.contactId);
    this.fail(item, `amoCRM refused the update: ${describe(outcome)}`);
  }

  /**
   * A refusal naming a PHONE/EMAIL clear: amoCRM does not take this spelling of a clear, so the item
   * goes again with the other (once per item), and the account's answer is kept for later clears.
   * `rest`: the problems about other values, handled as refusals.
   */
  private otherClearForm(
    item: Prepared<ContactUpdate>,
    problems: readonly ValidationProblem[],
  ): { item: Prepared<ContactUpdate>; rest: ValidationProblem[] } | undefined {
    if (item.clearFormSwitched) return undefined;
    const customs = item.body.custom_fields_values ?? [];
    const isClear = (entry: CustomFieldValueOut | undefined) =>
      entry !== undefined &&
      (entry.field_code === 'PHONE' || entry.field_code === 'EMAIL') &&
      (entry.values === null || entry.values.length === 0);
    const indexOf = (problem: ValidationProblem) => {
      const match = /^custom_fields_values\.(\d+)(?:\.|$)/.exec(problem.path.trim());
      return match ? Number(match[1]) : undefined;
    };
    if (!customs.some(isClear)) return undefined;
    // A problem naming the clear, or naming no value at all (`custom_fields_values`, ''), which
    // could be about the clear: the other spelling is tried once before the item is failed.
    const clearing = problems.filter((problem) => {
      const index = indexOf(problem);
      if (index !== undefined) return isClear(customs[index]);
      return /^(custom_fields_values)?$/.test(problem.path.trim());
    });
    if (clearing.length === 0) return undefined;
    const sent: ClearForm = customs.find(isClear)!.values === null ? 'null' : 'empty-list';
    const other: ClearForm = sent === 'null' ? 'empty-list' : 'null';
    if (this.clearForm !== other) {
      this.clearForm = other;
      this.deps.store.setMeta(CLEAR_FORM_KEY, other);
      this.deps.logger.info(
        { refused: sent, next: other },
        'amoCRM refused this spelling of a PHONE/EMAIL clear; the other is used',
      );
    }
    const body: ContactUpdate = {
      ...item.body,
      custom_fields_values: customs.map((entry) =>
        isClear(entry) ? { ...entry, values: other === 'null' ? null : [] } : entry,
      ),
    };
    return {
      item: { ...item, body, clearFormSwitched: true },
      rest: problems.filter((problem) => !clearing.includes(problem)),
    };
  }

  private updated(items: readonly Prepared<ContactUpdate>[]): void {
    this.deps.store.saveLinks(
      items.map((item) => this.savedLink(item, item.update!.contactId)),
      this.now(),
    );
    this.deps.store.mirror.recordWrites(
      items.map((item) => {
        const written = refusedMultitext(item);
        return {
          contactId: item.update!.contactId,
          identId: item.mapped.identField ?? item.mapped.patientId,
          hash: item.mapped.hash,
          ...(item.mirrorPhones && !written.phone ? { phones: item.mirrorPhones } : {}),
          ...(item.mirrorEmails && !written.email ? { emails: item.mirrorEmails } : {}),
        };
      }),
    );
    for (const item of items) {
      this.noteRefused(item);
      this.report.done(item.mapped, actionOf(item.update!), item.update!.contactId);
    }
  }

  /** The contact was deleted or merged away in amoCRM: the link ends and the patient is matched again. */
  private async gone(mapped: MappedContact, contactId: number): Promise<void> {
    this.deps.store.markVanished(mapped.patientId, contactId, stampOf(this.deps.time), { unlink: true });
    this.deps.store.mirror.remove([contactId]);
    this.deps.logger.warn(
      { patientId: mapped.patientId, contactId },
      'the amoCRM contact no longer exists (deleted or merged); the patient is matched again',
    );
    await this.report.resolveAgain(mapped, contactId);
  }

  // ── creates ────────────────────────────────────────────────────────────────────────────────
  private async sendCreates(batch: MappedContact[]): Promise<void> {
    if (this.options.dryRun) {
      for (const mapped of batch) this.report.done(mapped, 'created', 0);
      return;
    }
    const knownMaxId = this.deps.store.mirror.state().maxId;
    const items: Prepared<ContactCreate>[] = batch.map((mapped) => ({
      requestId: `c${mapped.patientId}`,
      body: toCreatePayload(mapped.document),
      mapped,
      link: {
        patientId: mapped.patientId,
        hash: mapped.hash,
        phones: phonesOf(mapped),
        emails: emailsOf(mapped),
        ownedPhones: phonesOf(mapped),
        ownedEmails: emailsOf(mapped),
      },
      refused: [],
      mirrorPhones: phonesOf(mapped),
      mirrorEmails: emailsOf(mapped),
    }));
    // Written before the request: after a crash or a lost answer these are looked up, not created again.
    this.deps.store.addPending(
      items.map((item) => ({
        patientId: item.mapped.patientId,
        requestId: item.requestId,
        hash: item.link.hash,
        phones: item.link.phones,
        emails: item.link.emails,
        knownMaxId,
      })),
      stampOf(this.deps.time),
    );
    await this.post(items, knownMaxId, 0);
  }

  private async post(items: Prepared<ContactCreate>[], knownMaxId: number, round: number): Promise<void> {
    if (items.length === 0) return;
    if (round > MAX_ROUNDS) return this.failAll(items, 'amoCRM kept refusing the new contact');
    // Sent again (without a refused value, or in halves): their wait counts from now.
    if (round > 0) {
      const sent = stampOf(this.deps.time);
      this.deps.store.restampPending(
        items.map((item) => ({ patientId: item.mapped.patientId, sent, refused: item.refused })),
      );
    }
    const outcome = await this.deps.contacts.write('post', items.map(asBatchItem));
    if (outcome.kind === 'stored') {
      const stored = items.filter((item) => outcome.ids.has(item.requestId));
      this.created(stored.map((item) => ({ item, contactId: outcome.ids.get(item.requestId)! })));
      // An answer that leaves items out says nothing of them: as for a lost answer.
      const unanswered = items.filter((item) => !outcome.ids.has(item.requestId));
      for (const item of await this.landed(unanswered, knownMaxId)) this.report.uncertain(item.mapped);
      return;
    }
    if (outcome.kind === 'uncertain') {
      // The request may still be applied after we stopped waiting: what is not there yet stays
      // pending and is looked up again by the next run, never sent twice now.
      for (const item of await this.landed(items, knownMaxId)) this.report.uncertain(item.mapped);
      return;
    }
    const byItem = outcome.kind === 'refused' ? problemsByItem(items, outcome.problems) : undefined;
    if (byItem) {
      const next: Prepared<ContactCreate>[] = [];
      // Whether amoCRM stored the others despite refusing the request is not documented: look first.
      const others = await this.landed(
        items.filter((item) => !byItem.has(item.requestId)),
        knownMaxId,
      );
      next.push(...others);
      for (const item of items) {
        const problems = byItem.get(item.requestId);
        if (!problems) continue;
        const repaired = this.withoutRefused(item, problems);
        if (typeof repaired === 'string') this.fail(item, repaired === 'gone' ? refusal(problems) : repaired);
        else next.push(repaired);
      }
      return this.post(next, knownMaxId, round + 1);
    }
    const notThere = await this.landed(items, knownMaxId);
    if (notThere.length > 1) {
      await inHalves(notThere, (part) => this.post(part, knownMaxId, round + 1));
      return;
    }
    for (const item of notThere) this.fail(item, `amoCRM refused the new contact: ${describe(outcome)}`);
  }

  /** Which of these creates amoCRM holds after all (linked now); returns the ones it does not. */
  private async landed(
    items: Prepared<ContactCreate>[],
    knownMaxId: number,
  ): Promise<Prepared<ContactCreate>[]> {
    if (items.length === 0) return [];
    await this.deps.refresher.newestAbove(knownMaxId);
    const found: { item: Prepared<ContactCreate>; contactId: number }[] = [];
    const missing: Prepared<ContactCreate>[] = [];
    for (const item of items) {
      const carriers = this.deps.store.mirror.byIdent(item.mapped.patientId);
      if (carriers.length === 0) missing.push(item);
      else {
        this.report.carriers(
          item.mapped.patientId,
          carriers.map((row) => row.contactId),
        );
        found.push({ item, contactId: carriers[0]!.contactId });
      }
    }
    this.created(found);
    return missing;
  }

  private created(done: readonly { item: Prepared<ContactCreate>; contactId: number }[]): void {
    if (done.length === 0) return;
    this.deps.store.saveLinks(
      done.map(({ item, contactId }) => this.savedLink(item, contactId)),
      this.now(),
    );
    this.deps.store.mirror.recordWrites(
      done.map(({ item, contactId }) => {
        const refused = refusedMultitext(item);
        return {
          contactId,
          identId: item.mapped.identField ?? item.mapped.patientId,
          hash: item.mapped.hash,
          phones: refused.phone ? [] : (item.mirrorPhones ?? []),
          emails: refused.email ? [] : (item.mirrorEmails ?? []),
        };
      }),
    );
    for (const { item, contactId } of done) {
      this.noteRefused(item);
      this.report.done(item.mapped, 'created', contactId);
    }
  }

  // ── refusals ───────────────────────────────────────────────────────────────────────────────
  /**
   * The item without the values amoCRM refused (named by the problems' paths), to send again; 'gone'
   * when amoCRM says the contact does not exist; a reason when the refusal cannot be narrowed to a field.
   */
  private withoutRefused<Body extends ContactCreate | ContactUpdate>(
    item: Prepared<Body>,
    problems: readonly ValidationProblem[],
  ): Prepared<Body> | 'gone' | string {
    const result = withoutRefusedValues(item.body, problems, {
      droppable: ['first_name', 'last_name'],
      keyOf: (entry) => this.keyOf(entry),
      noun: 'contact',
    });
    if (typeof result === 'string') return result;
    return { ...item, body: result.body, refused: [...item.refused, ...result.refused] };
  }

  /**
   * The link a write leaves, with its refused fields and the fields that landed (their earlier
   * refusals end; others stand). A refused PHONE or EMAIL was not written: the sync owns there only
   * what it owned before (IDENT's list counts as sent, so it is tried again when IDENT's values
   * change, or by a deep sync once a day). A create lands every field it did not have refused.
   */
  private savedLink(item: Prepared<ContactCreate | ContactUpdate>, contactId: number): SavedLink {
    const refused = refusedMultitext(item);
    const before = item.update?.link;
    const landed = item.update
      ? [
          ...(item.body.custom_fields_values ?? [])
            .map((entry) => this.keyOf(entry))
            .filter((key) => key !== 'PHONE' && key !== 'EMAIL'),
          ...(['first_name', 'last_name'] as const).filter((key) => key in item.body),
          ...(item.multitextLands?.phone && !refused.phone ? ['PHONE'] : []),
          ...(item.multitextLands?.email && !refused.email ? ['EMAIL'] : []),
        ]
      : undefined;
    return {
      ...item.link,
      contactId,
      ...(item.mapped.sharedWith ? { sharedWith: item.mapped.sharedWith } : {}),
      refused: item.refused,
      ...(landed ? { landed } : {}),
      ...(refused.phone ? { ownedPhones: before?.ownedPhones ?? [] } : {}),
      ...(refused.email ? { ownedEmails: before?.ownedEmails ?? [] } : {}),
    };
  }

  private keyOf(entry: CustomFieldValueOut): string {
    if (entry.field_code) return entry.field_code;
    return this.fieldKeys.get(entry.field_id ?? -1) ?? `field ${entry.field_id}`;
  }

  private noteRefused(item: Prepared<unknown>): void {
    if (item.refused.length === 0) return;
    this.deps.logger.warn(
      { patientId: item.mapped.patientId, fields: item.refused.map((refused) => refused.field) },
      'amoCRM refused some values; the contact was written without them (`ident-sync status` lists them)',
    );
  }

  private fail(item: Prepared<unknown>, reason: string): void {
    this.report.failed([{ patientId: item.mapped.patientId, reason }]);
  }

  private failAll(items: readonly Prepared<unknown>[], reason: string): void {
    this.report.failed(items.map((item) => ({ patientId: item.mapped.patientId, reason })));
  }
}

/** Which of PHONE and EMAIL amoCRM refused in this write (the values were not written). */
const refusedMultitext = (item: Prepared<unknown>) => ({
  phone: item.refused.some((refused) => refused.field === 'PHONE'),
  email: item.refused.some((refused) => refused.field === 'EMAIL'),
});

const asBatchItem = <Body>(item: Prepared<Body>): BatchItem<Body> => ({
  requestId: item.requestId,
  body: item.body,
});

const codeOf = (kind: MultitextKind) => (kind === 'phone' ? 'PHONE' : 'EMAIL');

const actionOf = (item: UpdateItem) => (item.repair ? 'repaired' : item.linking ? 'linked' : 'updated');

const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])];

function ownedOf(kind: MultitextKind, item: UpdateItem): string[] {
  if (item.link) return kind === 'phone' ? item.link.ownedPhones : item.link.ownedEmails;
  // A contact carrying the patient's IDENT id with no link in the state: what the sync owned on
  // the contact that vanished goes with it; with no record at all (a state folder lost or gone back
  // to an older copy) nothing there is known to be the sync's — a number a manager typed may equal
  // IDENT's, and erasing it is worse than leaving a stale one for a person to remove.
  if (item.assumeOwned && item.inherited)
    return kind === 'phone' ? item.inherited.phones : item.inherited.emails;
  return [];
}

/**
 * Whether PHONE or EMAIL must be merged and sent: IDENT's list changed, a contact is being taken
 * over, or the contact lacks one of IDENT's values (a manager deleted it).
 */
function needsMerge(kind: MultitextKind, item: UpdateItem): boolean {
  const ours = kind === 'phone' ? phonesOf(item.mapped) : emailsOf(item.mapped);
  const sent = item.link ? (kind === 'phone' ? item.link.phones : item.link.emails) : undefined;
  if (sent === undefined) return ours.length > 0 || ownedOf(kind, item).length > 0;
  if (!sameList(sent, ours)) return true;
  const held = item.held ? (kind === 'phone' ? item.held.phones : item.held.emails) : undefined;
  return held !== undefined && !holdsAll(held, ours);
}
