import { EntitiesApi, MAX_BATCH } from './entities.ts';
import type { AmoHttp } from './http.ts';
import type { IdFilterMemory } from './id-filter.ts';
import type { Contact, ContactCreate, ContactUpdate } from './types.ts';

export {
  type BatchItem,
  fieldValues,
  heldValues,
  type ListingClock,
  MAX_BATCH,
  MAX_IDS_PER_REQUEST,
  PAGE_LIMIT,
  UnorderedListingError,
  type WriteOutcome,
} from './entities.ts';

/** Contacts: one write request at a time, reads by id, and listings in pages of 250. */
export class ContactsApi extends EntitiesApi<Contact, ContactCreate, ContactUpdate> {
  constructor(http: AmoHttp, batchSize = MAX_BATCH, idFilter?: IdFilterMemory) {
    super(http, 'contacts', batchSize, {}, idFilter);
  }
}
