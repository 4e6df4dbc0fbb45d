import type { AmoClient } from '../../src/amocrm/client.ts';
import type { StoredContact } from '../../src/emulator/server.ts';
import type { StoredLead } from '../../src/emulator/leads.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import { ChainPatientSource, ChainReceptionSource } from '../../src/sources/scoped-sources.ts';
import { idsInField } from '../../src/sources/source-key.ts';
import type { SyntheticChain } from '../../src/demo/chain.ts';

/**
 * What a clinic chain looks like in the account, judged against who the people really are: the
 * measurement of "one person, one contact" (issue 20), shared by the bench, `npm test` and the
 * upgrade check. Read from the emulator's store, not from what the sync says it did.
 */

export interface ChainCounts {
  sources: number;
  /** Distinct real people across the chain. */
  people: number;
  /** Contacts in the account. */
  contacts: number;
  /** Contacts whose IDENT id field lists ids of two different people. */
  wrongPerson: number;
  /** People on more than one contact. */
  duplicates: number;
  /** People on no contact. */
  missing: number;
}

/** The chain as the engine takes it: one patient source and one reception source. */
export function chainSources(chain: SyntheticChain): {
  source: ChainPatientSource;
  receptions: ReceptionSource;
} {
  const sources = chain.clinics.map((clinic) => ({
    scope: clinic.scope,
    patients: clinic.patients,
    receptions: clinic.receptions,
  }));
  return { source: new ChainPatientSource(sources), receptions: new ChainReceptionSource(sources) };
}

/** The settings naming the chain's sources, as the clinic's .env would (the state is checked against them). */
export function chainSettings(chain: SyntheticChain): Record<string, string> {
  const bare = chain.clinics.find((clinic) => clinic.scope.bare);
  return {
    SOURCES: chain.clinics.map((clinic) => clinic.scope.key).join(','),
    ...(bare ? { SOURCE_BARE_IDS: bare.scope.key } : {}),
  };
}

/** The value of a custom field on a stored contact or lead, as text. */
function fieldText(
  entity: { custom_fields_values?: StoredContact['custom_fields_values'] },
  fieldId: number,
) {
  const value = entity.custom_fields_values?.find((field) => field.field_id === fieldId)?.values[0]?.value;
  return value === undefined || value === null ? undefined : String(value);
}

/** The account's contacts against the chain's people. */
export function countPeople(
  chain: SyntheticChain,
  contacts: readonly StoredContact[],
  identFieldId: number,
): ChainCounts & { wrongContacts: string[]; duplicatePeople: string[] } {
  const contactsOf = new Map<string, Set<number>>();
  const wrongContacts: string[] = [];
  for (const contact of contacts) {
    const ids = idsInField(fieldText(contact, identFieldId));
    const people = new Set<string>();
    for (const id of ids) {
      const person = chain.personOf(id);
      if (person === undefined) continue;
      people.add(person);
      contactsOf.set(person, (contactsOf.get(person) ?? new Set()).add(contact.id));
    }
    if (people.size > 1) wrongContacts.push(`contact ${contact.id}: ${ids.join(', ')}`);
  }
  const duplicatePeople = [...contactsOf].filter(([, on]) => on.size > 1).map(([person]) => person);
  return {
    sources: chain.clinics.length,
    people: chain.people,
    contacts: contacts.length,
    wrongPerson: wrongContacts.length,
    duplicates: duplicatePeople.length,
    missing: chain.people - contactsOf.size,
    wrongContacts,
    duplicatePeople,
  };
}

export interface DealCounts {
  receptions: number;
  deals: number;
  missingDeals: number;
  duplicateDeals: number;
}

/** One deal per reception of the chain (by its kept id), none twice. */
export async function countDeals(
  chain: SyntheticChain,
  leads: readonly StoredLead[],
  receptionFieldId: number,
): Promise<DealCounts> {
  const dealsOf = new Map<string, number>();
  for (const lead of leads) {
    const id = fieldText(lead, receptionFieldId);
    if (id !== undefined) dealsOf.set(id, (dealsOf.get(id) ?? 0) + 1);
  }
  const counts: DealCounts = { receptions: 0, deals: 0, missingDeals: 0, duplicateDeals: 0 };
  for await (const row of chainSources(chain).receptions.window(new Date(0))) {
    counts.receptions += 1;
    const deals = dealsOf.get(String(row.ReceptionId)) ?? 0;
    if (deals === 0) counts.missingDeals += 1;
    counts.duplicateDeals += Math.max(0, deals - 1);
  }
  counts.deals = [...dealsOf.values()].reduce((sum, count) => sum + count, 0);
  return counts;
}

/** The account as the emulator holds it, read over its admin routes (an emulator in another process too). */
export async function readAccount(url: string): Promise<{
  contacts: StoredContact[];
  leads: StoredLead[];
  maxRequestsInAnySecond: number;
  requests429: number;
}> {
  const get = async <T>(path: string) => (await (await fetch(`${url}${path}`)).json()) as T;
  const state = await get<{ maxRequestsInAnySecond: number; requests429: number }>('/__emulator/state');
  return {
    contacts: await get<StoredContact[]>('/__emulator/contacts'),
    leads: await get<StoredLead[]>('/__emulator/leads?format=json'),
    maxRequestsInAnySecond: state.maxRequestsInAnySecond,
    requests429: state.requests429,
  };
}

/**
 * Every write the client sends of one entity (contacts or leads), recorded as it leaves: creates,
 * and the entities each PATCH touches. `since()` gives what was sent after a mark, so a run's
 * writes are told apart.
 */
export class EntityWrites {
  private readonly log: { method: 'post' | 'patch'; ids: number[]; items: number }[] = [];

  constructor(api: AmoClient['contacts'] | AmoClient['leads']) {
    const write = api.write.bind(api) as (
      method: 'post' | 'patch',
      items: readonly { body: unknown }[],
    ) => ReturnType<typeof api.write>;
    (api as { write: unknown }).write = (method: 'post' | 'patch', items: readonly { body: unknown }[]) => {
      this.log.push({
        method,
        items: items.length,
        ids: items.map((item) => (item.body as { id?: number }).id).filter((id) => typeof id === 'number'),
      });
      return write(method, items);
    };
  }

  mark(): number {
    return this.log.length;
  }

  /** Requests and items written since the mark; `touched` the entities PATCHed. */
  since(mark = 0): { requests: number; creates: number; patches: number; touched: Set<number> } {
    const entries = this.log.slice(mark);
    return {
      requests: entries.length,
      creates: entries
        .filter((entry) => entry.method === 'post')
        .reduce((sum, entry) => sum + entry.items, 0),
      patches: entries
        .filter((entry) => entry.method === 'patch')
        .reduce((sum, entry) => sum + entry.items, 0),
      touched: new Set(entries.filter((entry) => entry.method === 'patch').flatMap((entry) => entry.ids)),
    };
  }
}

/** The contact writes of a client. */
export class ContactWrites extends EntityWrites {
  constructor(client: AmoClient) {
    super(client.contacts);
  }
}
