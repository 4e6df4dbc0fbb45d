import { EntitiesApi, MAX_BATCH } from './entities.ts';
import type { AmoHttp } from './http.ts';
import type { IdFilterMemory } from './id-filter.ts';
import type { Lead, LeadCreate, LeadUpdate } from './types.ts';

/**
 * Deals. Every read asks for `with=contacts`: without it amoCRM leaves out which contacts a deal
 * is linked to (the official library lists `contacts` among LeadModel::getAvailableWith).
 */
export class LeadsApi extends EntitiesApi<Lead, LeadCreate, LeadUpdate> {
  constructor(http: AmoHttp, batchSize = MAX_BATCH, idFilter?: IdFilterMemory) {
    super(http, 'leads', batchSize, { with: 'contacts' }, idFilter);
  }
}

/** The contact a deal belongs to: the main one, else the first linked. */
export function mainContactOf(lead: Lead): number | undefined {
  const contacts = lead._embedded?.contacts ?? [];
  return (contacts.find((contact) => contact.is_main) ?? contacts[0])?.id;
}
