import { type ContactsApi, fieldValues } from '../../amocrm/contacts.ts';
import type { Contact } from '../../amocrm/types.ts';
import type { Logger } from '../../logging/logger.ts';
import { identFieldId, type ResolvedMap } from '../../mapping/catalogue.ts';
import { documentFromContact } from '../../mapping/compare.ts';
import { contentHash } from '../../mapping/hash.ts';
import type { ContactMirror, MirrorRow } from '../../state/mirror.ts';
import { normaliseValue } from './multitext.ts';
import { ListingRefresher, type ReadForm, refresherParts } from '../runner/listing-refresh.ts';
import { nameWordsOf } from './names.ts';

export { type RefreshReport, WATERMARK_OVERLAP_SECONDS } from '../runner/listing-refresh.ts';

/** The map and zone contacts are read in. */
export type ContactForm = ReadForm<ResolvedMap>;

/** Bump when the way a contact is read into the mirror changes: every mirror is then rebuilt. */
const FORM_VERSION = 2;

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
 * Brings the contact mirror up to date with amoCRM (see ListingRefresher): a complete listing on
 * deep syncs and when the map changed, otherwise the contacts changed since the watermark.
 */
export class MirrorRefresher extends ListingRefresher<Contact> {
  constructor(contacts: ContactsApi, mirror: ContactMirror, form: ContactForm, logger: Logger) {
    const identField = identFieldId(form.resolved);
    const rowOf = (contact: Contact) => mirrorRowOf(contact, form, identField);
    super(refresherParts({ api: contacts, mirror, form, version: FORM_VERSION, rowOf, logger }));
  }
}
