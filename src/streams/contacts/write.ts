import { type ContactsApi, heldValues } from '../../amocrm/contacts.ts';
import type { ValidationProblem } from '../../amocrm/errors.ts';
import type { Contact, ContactCreate, ContactUpdate, CustomFieldValueOut } from '../../amocrm/types.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Clock } from '../../support/clock.ts';
import type { ResolvedMap } from '../../mapping/catalogue.ts';
import { type MappedContact, toCreatePayload, toUpdatePayload } from '../../mapping/mapper.ts';
import type { Link, Pending, SavedLink, StateStore } from '../../state/store.ts';
import type { MirrorRefresher } from './mirror-refresh.ts';
import { type PendingClock, type SentStamp, stampOf } from '../runner/pending-age.ts';
import type { Refused } from '../runner/refusals.ts';
import {
  type PendingSettled,
  type PreparedWrite,
  StreamWriter,
  type StreamWriterOptions,
} from '../runner/writer.ts';
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
  /**
   * A chain's patient joining another clinic's contact of the same person: what the sync owns
   * there through the other clinics' patients stays the sync's (a number one clinic removes later
   * leaves the contact).
   */
  joined?: { phones: string[]; emails: string[] };
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

export type WriterOptions = StreamWriterOptions;
export type { PendingSettled };

/** A write ready to send, with what the state records once amoCRM has it. */
interface Prepared<Body> extends PreparedWrite<Body, MappedContact> {
  update?: UpdateItem;
  link: Omit<SavedLink, 'contactId'>;
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

type ContactWrites = {
  mapped: MappedContact;
  update: UpdateItem;
  create: MappedContact;
  updateBody: ContactUpdate;
  createBody: ContactCreate;
  preparedUpdate: Prepared<ContactUpdate>;
  preparedCreate: Prepared<ContactCreate>;
  pending: Pending;
};

/**
 * How contacts are written (the shared machinery is `StreamWriter`): an update reads the contact's
 * PHONE and EMAIL first where they must be merged, and owns what it sends before sending it; a
 * refused clear of PHONE/EMAIL is tried in the other spelling; a link holds the phones and e-mails
 * the sync owns there.
 */
export class ContactWriter extends StreamWriter<ContactWrites> {
  protected readonly noun = 'contact';
  protected readonly keyName = 'patientId';
  protected readonly droppable = ['first_name', 'last_name'];
  private readonly contactDeps: WriterDeps;
  private readonly report: WriteReport;
  private readonly clock: Pick<Clock, 'now'>;
  private clearForm: ClearForm;

  constructor(deps: WriterDeps, options: WriterOptions, report: WriteReport) {
    super(
      {
        entity: deps.contacts,
        refresher: deps.refresher,
        fields: deps.resolved.fields,
        logger: deps.logger,
        time: deps.time,
      },
      options,
    );
    this.contactDeps = deps;
    this.report = report;
    this.clock = deps.time.clock;
    this.clearForm = deps.store.getMeta(CLEAR_FORM_KEY) === 'empty-list' ? 'empty-list' : 'null';
  }

  private now(): Date {
    return new Date(this.clock.now());
  }

  protected keyOf(mapped: MappedContact): string {
    return mapped.patientId;
  }

  protected targetOf(item: Prepared<ContactUpdate>): number {
    return item.update!.contactId;
  }

  protected dryUpdate(item: UpdateItem): void {
    this.report.done(item.mapped, actionOf(item), item.contactId);
  }

  protected dryCreate(mapped: MappedContact): void {
    this.report.done(mapped, 'created', 0);
  }

  protected uncertain(mapped: MappedContact): void {
    this.report.uncertain(mapped);
  }

  protected reportFailed(failures: readonly { key: string; reason: string }[]): void {
    this.report.failed(failures.map(({ key, reason }) => ({ patientId: key, reason })));
  }

  protected override noteCarriers(patientId: string, contactIds: readonly number[]): void {
    this.report.carriers(patientId, contactIds);
  }

  protected carriersOf(patientId: string): number[] {
    return this.contactDeps.store.mirror.byIdent(patientId).map((row) => row.contactId);
  }

  protected knownMaxId(): number {
    return this.contactDeps.store.mirror.state().maxId;
  }

  // ── creates left by an earlier run ─────────────────────────────────────────────────────────
  protected pendingKey(entry: Pending): string {
    return entry.patientId;
  }

  protected restampPending(
    entries: readonly { key: string; sent: SentStamp; refused?: readonly Refused[] }[],
  ): void {
    this.contactDeps.store.restampPending(entries.map(({ key, ...rest }) => ({ patientId: key, ...rest })));
  }

  protected settlePending(
    found: readonly { entry: Pending; id: number }[],
    lost: readonly { key: string; reason: string; dueNow: true }[],
  ): void {
    this.contactDeps.store.saveLinks(
      found.map(({ entry, id }) => ({
        patientId: entry.patientId,
        contactId: id,
        hash: entry.hash,
        phones: entry.phones,
        emails: entry.emails,
        // A PHONE or EMAIL refused was not written: none of it is the sync's (as savedLink does).
        ownedPhones: entry.refused.some((refused) => refused.field === 'PHONE') ? [] : entry.phones,
        ownedEmails: entry.refused.some((refused) => refused.field === 'EMAIL') ? [] : entry.emails,
        refused: entry.refused,
      })),
    );
    this.contactDeps.store.recordFailures(
      lost.map(({ key, ...rest }) => ({ patientId: key, ...rest })),
      this.now(),
    );
  }

  // ── updates ────────────────────────────────────────────────────────────────────────────────
  protected async prepareUpdates(batch: UpdateItem[]): Promise<Prepared<ContactUpdate>[]> {
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
      for (const contact of await this.contactDeps.contacts.getByIds(toRead)) held.set(contact.id, contact);
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
    this.contactDeps.store.widenOwned(widen);
    this.contactDeps.store.reserveLinks(reserve, this.now());
    return ready;
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
        this.contactDeps.logger.debug(
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

  /** A refused clear of PHONE/EMAIL goes again in the other spelling; other refused values are left out. */
  protected override repairUpdate(
    item: Prepared<ContactUpdate>,
    problems: readonly ValidationProblem[],
  ): Prepared<ContactUpdate> | 'gone' | string {
    const switched = this.otherClearForm(item, problems);
    if (switched && switched.rest.length === 0) return switched.item;
    return switched ? this.withoutRefused(switched.item, switched.rest) : this.withoutRefused(item, problems);
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
      this.contactDeps.store.setMeta(CLEAR_FORM_KEY, other);
      this.contactDeps.logger.info(
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

  protected updated(items: readonly Prepared<ContactUpdate>[]): void {
    this.contactDeps.store.saveLinks(
      items.map((item) => this.savedLink(item, item.update!.contactId)),
      this.now(),
    );
    this.contactDeps.store.mirror.recordWrites(
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
  protected async gone(mapped: MappedContact, contactId: number): Promise<void> {
    this.contactDeps.store.markVanished(mapped.patientId, contactId, stampOf(this.contactDeps.time), {
      unlink: true,
    });
    this.contactDeps.store.mirror.remove([contactId]);
    this.contactDeps.logger.warn(
      { patientId: mapped.patientId, contactId },
      'the amoCRM contact no longer exists (deleted or merged); the patient is matched again',
    );
    await this.report.resolveAgain(mapped, contactId);
  }

  // ── creates ────────────────────────────────────────────────────────────────────────────────
  protected prepareCreate(mapped: MappedContact): Prepared<ContactCreate> {
    return {
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
    };
  }

  protected addPending(items: readonly Prepared<ContactCreate>[], knownMaxId: number, sent: SentStamp): void {
    this.contactDeps.store.addPending(
      items.map((item) => ({
        patientId: item.mapped.patientId,
        requestId: item.requestId,
        hash: item.link.hash,
        phones: item.link.phones,
        emails: item.link.emails,
        knownMaxId,
      })),
      sent,
    );
  }

  protected created(done: readonly { item: Prepared<ContactCreate>; id: number }[]): void {
    if (done.length === 0) return;
    this.contactDeps.store.saveLinks(
      done.map(({ item, id }) => this.savedLink(item, id)),
      this.now(),
    );
    this.contactDeps.store.mirror.recordWrites(
      done.map(({ item, id }) => {
        const refused = refusedMultitext(item);
        return {
          contactId: id,
          identId: item.mapped.identField ?? item.mapped.patientId,
          hash: item.mapped.hash,
          phones: refused.phone ? [] : (item.mirrorPhones ?? []),
          emails: refused.email ? [] : (item.mirrorEmails ?? []),
        };
      }),
    );
    for (const { item, id } of done) {
      this.noteRefused(item);
      this.report.done(item.mapped, 'created', id);
    }
  }

  // ── links ──────────────────────────────────────────────────────────────────────────────────
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
            .map((entry) => this.fieldKey(entry))
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
}

/** Which of PHONE and EMAIL amoCRM refused in this write (the values were not written). */
const refusedMultitext = (item: Prepared<unknown>) => ({
  phone: item.refused.some((refused) => refused.field === 'PHONE'),
  email: item.refused.some((refused) => refused.field === 'EMAIL'),
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
  if (item.joined) return kind === 'phone' ? item.joined.phones : item.joined.emails;
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
