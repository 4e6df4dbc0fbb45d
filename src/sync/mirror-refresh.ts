import { hash } from 'node:crypto';
import {
  type ContactsApi,
  fieldValues,
  type ListingClock,
  UnorderedListingError,
} from '../amocrm/contacts.ts';
import type { Contact } from '../amocrm/types.ts';
import type { Logger } from '../logging/logger.ts';
import { identFieldId, type ResolvedMap } from '../mapping/catalogue.ts';
import { documentFromContact } from '../mapping/compare.ts';
import { contentHash } from '../mapping/hash.ts';
import type { ContactMirror, MirrorRow } from '../state/mirror.ts';
import { normaliseValue } from './multitext.ts';
import { nameWordsOf } from './names.ts';

/** The map and zone contacts are read in: hashes made in another form compare with nothing. */
export interface ContactForm {
  resolved: ResolvedMap;
  timeZone: string;
}

/** Bump when the way a contact is read into the mirror changes: every mirror is then rebuilt. */
const FORM_VERSION = 2;

export function formFingerprint(form: ContactForm): string {
  const fields = form.resolved.fields.map((field) => [
    field.spec.key,
    field.fieldId,
    field.spec.type,
    field.spec.transform ?? null,
    [...field.enumIds],
  ]);
  return hash('sha256', JSON.stringify([FORM_VERSION, form.timeZone, fields]), 'hex').slice(0, 32);
}

/** One contact as the mirror keeps it. */
export function mirrorRowOf(
  contact: Contact,
  form: ContactForm,
  identField = identFieldId(form.resolved),
): MirrorRow {
  const identId = fieldValues(contact, { fieldId: identField })[0]?.trim() || null;
  const unique = (values: string[]) => [...new Set(values.filter((value) => value !== ''))];
  return {
    contactId: contact.id,
    identId,
    hash: contentHash(documentFromContact(contact, form.resolved, form.timeZone)),
    phones: unique(fieldValues(contact, { code: 'PHONE' }).map((value) => normaliseValue('phone', value))),
    emails: unique(fieldValues(contact, { code: 'EMAIL' }).map((value) => normaliseValue('email', value))),
    // Only a contact without an IDENT id can be taken over by phone, where its names are compared.
    nameWords: identId === null ? nameWordsOf(contact) : [],
    updatedAt: contact.updated_at ?? 0,
  };
}

/**
 * The watermark is amoCRM's own clock when the last listing began (its Date header), less this
 * margin: a contact stamped just before that moment but committed after it, or stamped by a server
 * whose clock runs a little behind, is read again by the next refresh. Contacts stamped earlier
 * were visible to that listing. A contact amoCRM makes visible later still waits for the next deep
 * sync, which reads everything.
 */
export const WATERMARK_OVERLAP_SECONDS = 10;

export interface RefreshReport {
  kind: 'full' | 'since watermark' | 'skipped';
  contacts: number;
  removed: number;
}

/**
 * Brings the mirror up to date with amoCRM. A complete listing (deep syncs, a new or changed map)
 * reads every contact; contacts it did not see are looked up by id before they are dropped, as a
 * deletion during the listing shifts the pages. An incremental refresh reads contacts by
 * `updated_at`, newest first, back to the last watermark: usually one request. It never relies on
 * `filter[updated_at]`, which amoCRM silently ignores on accounts without API filtering.
 */
export class MirrorRefresher {
  private readonly contacts: ContactsApi;
  private readonly mirror: ContactMirror;
  private readonly form: ContactForm;
  private readonly logger: Logger;
  private readonly identField: number;
  readonly fingerprint: string;

  constructor(contacts: ContactsApi, mirror: ContactMirror, form: ContactForm, logger: Logger) {
    this.contacts = contacts;
    this.mirror = mirror;
    this.form = form;
    this.logger = logger;
    this.identField = identFieldId(form.resolved);
    this.fingerprint = formFingerprint(form);
  }

  /** Whether the mirror was ever read in full in the current form. */
  get complete(): boolean {
    const state = this.mirror.state();
    return state.fullAt !== undefined && state.form === this.fingerprint;
  }

  /** A complete listing when asked or needed, otherwise the changes since the watermark. */
  async refresh(full: boolean): Promise<RefreshReport> {
    if (full || !this.complete) return this.full();
    return this.sinceWatermark();
  }

  async full(): Promise<RefreshReport> {
    const started = Date.now();
    const before = this.mirror.state();
    if (before.form !== this.fingerprint) this.mirror.setState({ form: this.fingerprint, fullAt: undefined });
    // Recorded first: rows a listing interrupted by a crash had marked cannot pass as seen by the next.
    const generation = before.generation + 1;
    this.mirror.setState({ generation });
    let contacts = 0;
    let newest = 0;
    const clock: ListingClock = {};
    for await (const page of this.contacts.pages({ 'order[id]': 'asc' }, clock)) {
      this.store(page, generation);
      contacts += page.length;
      for (const contact of page) newest = Math.max(newest, contact.updated_at ?? 0);
    }
    let removed = 0;
    for (;;) {
      const unseen = this.mirror.unseen(generation, 250);
      if (unseen.length === 0) break;
      const found = await this.contacts.getByIds(unseen);
      this.store(found, generation);
      const present = new Set(found.map((contact) => contact.id));
      const gone = unseen.filter((id) => !present.has(id));
      this.mirror.remove(gone);
      removed += gone.length;
    }
    this.mirror.setState({
      fullAt: new Date().toISOString(),
      // Contacts changed while the listing ran are read again by the next incremental refresh.
      watermark: (clock.serverTime ?? newest) - WATERMARK_OVERLAP_SECONDS,
      form: this.fingerprint,
    });
    this.logger.info(
      { contacts, removed, ms: Date.now() - started },
      'read every amoCRM contact into the mirror',
    );
    return { kind: 'full', contacts, removed };
  }

  async sinceWatermark(): Promise<RefreshReport> {
    const state = this.mirror.state();
    let contacts = 0;
    let newest = 0;
    const clock: ListingClock = {};
    try {
      for await (const page of this.contacts.newestFirst(
        'updated_at',
        (read) => (read.at(-1)?.updated_at ?? 0) < state.watermark,
        clock,
      )) {
        this.store(page, state.generation);
        contacts += page.length;
        for (const contact of page) newest = Math.max(newest, contact.updated_at ?? 0);
      }
    } catch (error) {
      if (!(error instanceof UnorderedListingError)) throw error;
      // Without a working order the changes cannot be read cheaply: the next deep sync reads all.
      this.logger.warn(
        'amoCRM ignores order[updated_at] on this account; the contact mirror is refreshed by deep syncs only',
      );
      return { kind: 'skipped', contacts, removed: 0 };
    }
    // Without amoCRM's clock, the newest stamp read stands in for it.
    const next = (clock.serverTime ?? newest) - WATERMARK_OVERLAP_SECONDS;
    this.mirror.setState({ watermark: Math.max(state.watermark, next) });
    return { kind: 'since watermark', contacts, removed: 0 };
  }

  /**
   * Contacts created after `knownMaxId` (newest first by id, usually one page) into the mirror:
   * whether a create whose answer was lost landed. Where amoCRM ignores the order, the whole
   * list is read instead, since "not listed" would otherwise prove nothing.
   */
  async newestAbove(knownMaxId: number): Promise<void> {
    const generation = this.mirror.state().generation;
    try {
      for await (const page of this.contacts.newestFirst(
        'id',
        (read) => (read.at(-1)?.id ?? 0) <= knownMaxId,
      )) {
        this.store(
          page.filter((contact) => contact.id > knownMaxId),
          generation,
        );
      }
    } catch (error) {
      if (!(error instanceof UnorderedListingError)) throw error;
      this.logger.warn('amoCRM ignores order[id] on this account; reading every contact to confirm new ones');
      await this.full();
    }
  }

  private store(page: readonly Contact[], generation: number): void {
    this.mirror.upsert(
      page.map((contact) => mirrorRowOf(contact, this.form, this.identField)),
      generation,
    );
  }
}
