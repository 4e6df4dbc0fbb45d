import { EntitiesApi, MAX_BATCH } from './entities.ts';
import { AmoCrmError, AmoValidationError, type ValidationProblem } from './errors.ts';
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

  /**
   * Makes this contact the deal's main contact (`POST /api/v4/leads/{id}/link`, a batch of
   * `{to_entity_id, to_entity_type: "contacts", metadata: {main_contact: true}}`; Kommo "Linking
   * entities", https://developers.kommo.com/reference/linking-entities, amoCRM's
   * https://www.amocrm.ru/developers/content/crm_platform/entity-links-api). Linking again what is
   * linked changes nothing, so a link sent twice after a crash is harmless.
   */
  linkMainContact(leadId: number, contactId: number): Promise<LinkOutcome> {
    return this.links(leadId, 'link', [
      { to_entity_id: contactId, to_entity_type: 'contacts', metadata: { main_contact: true } },
    ]);
  }

  /**
   * Ends the link between the deal and this contact (`POST /api/v4/leads/{id}/unlink`, same batch
   * shape; Kommo "Unlinking entities", https://developers.kommo.com/reference/unlinking-entities).
   * Neither entity is deleted.
   */
  unlinkContact(leadId: number, contactId: number): Promise<LinkOutcome> {
    return this.links(leadId, 'unlink', [{ to_entity_id: contactId, to_entity_type: 'contacts' }]);
  }

  private async links(leadId: number, verb: 'link' | 'unlink', body: unknown[]): Promise<LinkOutcome> {
    try {
      await this.http.post(`/api/v4/leads/${leadId}/${verb}`, body);
      return { kind: 'stored' };
    } catch (error) {
      if (error instanceof AmoValidationError) return { kind: 'refused', problems: error.problems };
      if (error instanceof AmoCrmError && (error.kind === 'uncertain' || error.kind === 'rejected'))
        return { kind: error.kind, error };
      throw error;
    }
  }
}

/** What became of a link or unlink request; errors that must stop every call are thrown. */
export type LinkOutcome =
  | { kind: 'stored' }
  | { kind: 'refused'; problems: readonly ValidationProblem[] }
  | { kind: 'rejected' | 'uncertain'; error: AmoCrmError };

/** The contact a deal belongs to: the main one, else the first linked. */
export function mainContactOf(lead: Lead): number | undefined {
  const contacts = lead._embedded?.contacts ?? [];
  return (contacts.find((contact) => contact.is_main) ?? contacts[0])?.id;
}
