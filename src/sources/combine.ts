import type { ResolvedField } from '../mapping/catalogue.ts';
import { contentHash } from '../mapping/hash.ts';
import type { ContactDocument, DocumentValue, MappedContact } from '../mapping/mapper.ts';
import { type CombineRule, MAX_LENGTH } from '../mapping/schema.ts';
import { fieldOfIds } from './source-key.ts';

/** One patient of a contact shared by clinics: what its clinic's row maps to. */
export interface ChainMember {
  mapped: MappedContact;
  /** When the patient last changed in its clinic (the row's ChangedAt), for `latest`. */
  changedAt: number | undefined;
  /**
   * When this value of the patient last changed, as the sync saw it (`name`, `phones`, `emails`,
   * or a field key): `latest` compares these where known, so a clinic's row changing for another
   * reason does not make its older value win.
   */
  changedAtOf?: (group: string) => number | undefined;
  /** The source's place in SOURCES (0 first), for `priority` and ties. */
  rank: number;
}

/**
 * The contact of one person who is a patient of several clinics: each field combined by the rule
 * the map declares for it (schema.ts, COMBINE_RULES; `latest` when none), the IDENT id field listing
 * every patient. Deterministic in its members, so a deep sync of either clinic writes nothing when
 * nothing changed, and no clinic undoes another's value.
 */
export function combineMembers(
  self: ChainMember,
  others: readonly ChainMember[],
  fields: readonly Pick<ResolvedField, 'fieldId' | 'spec'>[],
): MappedContact {
  if (others.length === 0) return self.mapped;
  const members = [self, ...others];
  const timeOf = (member: ChainMember, group: string) =>
    member.changedAtOf?.(group) ?? member.changedAt ?? -Infinity;
  const latestFor = (group: string) =>
    [...members].sort((a, b) => timeOf(b, group) - timeOf(a, group) || a.rank - b.rank);
  const byRank = [...members].sort((a, b) => a.rank - b.rank);
  const latest = latestFor('name')[0]!.mapped.document;
  const rules = new Map(fields.map((field) => [field.fieldId, field.spec]));
  const ids = fieldOfIds(members.map((member) => member.mapped.patientId));
  const document: ContactDocument = {
    name: latest.name,
    first_name: latest.first_name,
    last_name: latest.last_name,
    // Person fields: the clinic whose patient changed last, where it has any.
    phones: firstNonEmpty(latestFor('phones').map((member) => member.mapped.document.phones)),
    emails: firstNonEmpty(latestFor('emails').map((member) => member.mapped.document.emails)),
    fields: self.mapped.document.fields.map((field) => {
      const spec = rules.get(field.field_id);
      if (field.key === 'ident_id') return { ...field, value: ids };
      const rule: CombineRule = spec?.combine ?? 'latest';
      const values = (order: readonly ChainMember[]) =>
        order.map(
          (member) =>
            member.mapped.document.fields.find((other) => other.field_id === field.field_id)?.value ?? null,
        );
      const limit = spec?.maxLength ?? (spec ? MAX_LENGTH[spec.type] : undefined);
      return {
        ...field,
        value: combineValues(rule, values(rule === 'latest' ? latestFor(field.key) : byRank), limit),
      };
    }),
  };
  return {
    ...self.mapped,
    document,
    hash: contentHash(document),
    identField: ids,
    sharedWith: others.map((member) => member.mapped.patientId),
  };
}

function combineValues(
  rule: CombineRule,
  values: readonly (DocumentValue | null)[],
  limit: number | undefined,
): DocumentValue | null {
  const present = values.filter((value): value is DocumentValue => value !== null && value !== '');
  if (present.length === 0) return null;
  const numbers = present.filter((value): value is number => typeof value === 'number');
  switch (rule) {
    case 'latest':
    case 'priority':
      return present[0]!;
    case 'sum':
      return numbers.length === 0
        ? null
        : Math.round(numbers.reduce((sum, value) => sum + value, 0) * 100) / 100;
    case 'min':
      return numbers.length === 0 ? present[0]! : Math.min(...numbers);
    case 'max':
      return numbers.length === 0 ? present[0]! : Math.max(...numbers);
    case 'list': {
      const text = [
        ...new Set(present.map((value) => String(value).trim()).filter((value) => value !== '')),
      ].join(', ');
      return limit !== undefined && text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
    }
  }
}

function firstNonEmpty<T>(lists: readonly (readonly T[])[]): T[] {
  return [...(lists.find((list) => list.length > 0) ?? [])];
}
