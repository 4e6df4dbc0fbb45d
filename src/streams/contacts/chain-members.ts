import { hash } from 'node:crypto';
import type { PatientSource } from '../../ident/patient-source.ts';
import type { Logger } from '../../logging/logger.ts';
import type { ResolvedField } from '../../mapping/catalogue.ts';
import type { MappedContact, Mapper } from '../../mapping/mapper.ts';
import { type ChainMember, combineMembers } from '../../sources/combine.ts';
import { compareKept, idsInField, splitScopedId } from '../../sources/source-key.ts';
import type { ContactMirror, MirrorRow } from '../../state/mirror.ts';
import { phonesOf } from './multitext.ts';
import { compatibleName, words } from './names.ts';

export type JoinEvidence = 'phone' | 'name' | 'birth_date';

/** The first name and surname, each compatible with the other's (names.ts), both ways. */
function namesAgree(a: MappedContact, b: MappedContact): boolean {
  const namesOf = (mapped: MappedContact) => ({
    firstName: mapped.document.first_name,
    lastName: mapped.document.last_name,
  });
  const wordsOf = (mapped: MappedContact) =>
    words(`${mapped.document.first_name} ${mapped.document.last_name}`);
  return compatibleName(namesOf(a), wordsOf(b)) && compatibleName(namesOf(b), wordsOf(a));
}

const patronymicOf = (mapped: MappedContact): string | undefined => {
  const value = mapped.document.fields.find((field) => field.key === 'patronymic')?.value;
  return typeof value === 'string' && value.trim() !== '' ? words(value)[0] : undefined;
};

const birthOf = (mapped: MappedContact) =>
  mapped.document.fields.find((field) => field.key === 'birth_date')?.value ?? null;

/** A clinic of the chain, as a kept id tells it (undefined: the source with bare ids). */
const clinicOf = (patientId: string) => splitScopedId(patientId).key;

export interface ChainMembersDeps {
  source: PatientSource;
  mapper: Mapper;
  fields: readonly ResolvedField[];
  joinOn: readonly JoinEvidence[];
  patientsOfContact: (contactId: number) => string[];
  logger: Logger;
  /** When the sync first saw each person value of a patient as it is (the state's chain_values). */
  values: {
    read(patientId: string): Map<string, { hash: string; changedAt: number }>;
    note(patientId: string, values: { field: string; hash: string; changedAt: number }[]): void;
  };
  /** The engine's wall clock (ms), for a value seen changed now. */
  now: () => number;
  dryRun: boolean;
}

/**
 * The patients of other clinics on a contact, for a chain's one person, one contact:
 * - `combine`: a patient's contact values made together with the other clinics' patients on it
 *   (read from their own databases now, so nothing of theirs is kept in the state);
 * - `joinable`: the contact of another clinic's patient this new patient is, on person evidence
 *   only (the map's `chain.joinOn`: the same normalised phone, a compatible name both ways, the
 *   same birth date where both have one) — never on a bare id.
 * With one database every patient is of the same clinic: nothing here changes a thing.
 */
export class ChainMembers {
  private readonly rows = new Map<string, MappedContact | null>();
  private readonly deps: ChainMembersDeps;

  constructor(deps: ChainMembersDeps) {
    this.deps = deps;
  }

  /** The other clinics' patients on this contact (by the state's links and the ids it carries). */
  othersOn(patientId: string, contactId: number, carried: string | null | undefined): string[] {
    const clinic = clinicOf(patientId);
    const ids = new Set([...this.deps.patientsOfContact(contactId), ...idsInField(carried)]);
    return [...ids].filter((id) => id !== patientId && clinicOf(id) !== clinic);
  }

  /** The patient's contact values combined with these other clinics' patients (unchanged when none). */
  async combine(mapped: MappedContact, others: readonly string[]): Promise<MappedContact> {
    if (others.length === 0) return mapped;
    const all = [mapped];
    for (const id of others) {
      const other = await this.mappedOf(id);
      if (other) all.push(other);
    }
    const times = this.valueTimes(all);
    const [self, ...rest] = all.map((member) => this.member(member, times.get(member.patientId)!));
    return combineMembers(self!, rest, this.deps.fields);
  }

  /**
   * The one contact of other clinics' patients that this patient is the same person as; none, or
   * more than one, leaves the patient its own contact (a person merges them, if they are one).
   */
  async joinable(
    mapped: MappedContact,
    mirror: ContactMirror,
    skip: ReadonlySet<number>,
  ): Promise<{ row: MirrorRow; others: string[] } | undefined> {
    const clinic = clinicOf(mapped.patientId);
    const found = new Map<number, { row: MirrorRow; others: string[] }>();
    for (const phone of phonesOf(mapped)) {
      for (const row of mirror.byPhoneOfPatients(phone)) {
        if (skip.has(row.contactId) || found.has(row.contactId)) continue;
        const ids = idsInField(row.identId);
        // A patient of the same clinic on it: a relative on one number, or a duplicate to merge by hand.
        if (ids.length === 0 || ids.some((id) => clinicOf(id) === clinic)) continue;
        let samePerson = true;
        for (const id of ids) {
          const other = await this.mappedOf(id);
          if (!other || !this.samePerson(mapped, other)) samePerson = false;
          if (!samePerson) break;
        }
        if (samePerson) found.set(row.contactId, { row, others: ids });
      }
    }
    if (found.size > 1)
      this.deps.logger.info(
        { patientId: mapped.patientId, contactIds: [...found.keys()] },
        'the patient matches several contacts of other clinics; it gets its own contact for a person to merge',
      );
    return found.size === 1 ? [...found.values()][0] : undefined;
  }

  /**
   * Another clinic's patient of the same person whose create is sent but not settled (its answer
   * lost, amoCRM may still apply it): this patient waits for it instead of making a second contact.
   */
  async awaitedCreate(
    mapped: MappedContact,
    unsettled: readonly { patientId: string; phones: readonly string[] }[],
  ): Promise<string | undefined> {
    const clinic = clinicOf(mapped.patientId);
    const phones = new Set(phonesOf(mapped));
    for (const entry of unsettled) {
      if (clinicOf(entry.patientId) === clinic || !entry.phones.some((phone) => phones.has(phone))) continue;
      const other = await this.mappedOf(entry.patientId);
      if (other && this.samePerson(mapped, other)) return entry.patientId;
    }
    return undefined;
  }

  /**
   * Contacts of different clinics' patients that share a phone and a first name (one way at least)
   * but were not joined — the evidence was too weak (another surname, another birth date) or came
   * later: a person decides and merges them in amoCRM. Read in a deep sync; one finding per pair.
   */
  async possiblyOnePerson(mirror: ContactMirror): Promise<{ patientId: string; contactIds: number[] }[]> {
    const pairs = new Map<string, { patientId: string; contactIds: number[] }>();
    for (const { contactIds } of mirror.sharedPhones()) {
      const rows = [...mirror.get(contactIds).values()];
      for (const [index, left] of rows.entries())
        for (const right of rows.slice(index + 1)) {
          const key = `${left.contactId}:${right.contactId}`;
          if (pairs.has(key)) continue;
          const patient = await this.firstNamePair(idsInField(left.identId), idsInField(right.identId));
          if (patient) pairs.set(key, { patientId: patient, contactIds: [left.contactId, right.contactId] });
        }
    }
    return [...pairs.values()];
  }

  /** A patient of the right-hand contact sharing a first name with one of another clinic on the left. */
  private async firstNamePair(
    left: readonly string[],
    right: readonly string[],
  ): Promise<string | undefined> {
    for (const a of left)
      for (const b of right) {
        if (clinicOf(a) === clinicOf(b)) continue;
        const x = await this.mappedOf(a);
        const y = await this.mappedOf(b);
        if (!x || !y) continue;
        const first = (mapped: MappedContact) => words(mapped.document.first_name)[0];
        if (first(x) !== undefined && first(x) === first(y)) return b;
      }
    return undefined;
  }

  /**
   * A joined contact's patients, checked again each time one of them is written: those no longer
   * the same person as the contact's first patient (by kept id) leave it. A registrar who corrects a
   * record to another person (another birth date, another patronymic, or another name and no
   * shared phone) must not keep two people on one contact; a married name on the same number stays.
   */
  async departing(
    self: MappedContact,
    others: readonly string[],
  ): Promise<{ selfLeaves: boolean; leaving: string[]; staying: string[] }> {
    const members = new Map<string, MappedContact | null>([[self.patientId, self]]);
    for (const id of others) members.set(id, await this.mappedOf(id));
    const present = [...members].filter((entry): entry is [string, MappedContact] => entry[1] !== null);
    const [anchorId, anchor] = present.sort(([a], [b]) => compareKept(a, b))[0]!;
    const leaving = present
      .filter(([id, mapped]) => id !== anchorId && !this.stillSamePerson(anchor, mapped))
      .map(([id]) => id);
    return {
      selfLeaves: leaving.includes(self.patientId),
      leaving: leaving.filter((id) => id !== self.patientId),
      staying: others.filter((id) => !leaving.includes(id)),
    };
  }

  private stillSamePerson(a: MappedContact, b: MappedContact): boolean {
    const left = { birth: birthOf(a), patronymic: patronymicOf(a) };
    const right = { birth: birthOf(b), patronymic: patronymicOf(b) };
    if (left.birth !== null && right.birth !== null && left.birth !== right.birth) return false;
    if (left.patronymic && right.patronymic && left.patronymic !== right.patronymic) return false;
    if (namesAgree(a, b)) return true;
    // Another name (a married name, a typo put right) on the same number is still the person.
    const phones = new Set(phonesOf(b));
    return phonesOf(a).some((phone) => phones.has(phone));
  }

  private samePerson(a: MappedContact, b: MappedContact): boolean {
    const { joinOn } = this.deps;
    if (joinOn.includes('phone')) {
      const phones = new Set(phonesOf(b));
      if (!phonesOf(a).some((phone) => phones.has(phone))) return false;
    }
    if (joinOn.includes('name')) {
      if (!namesAgree(a, b)) return false;
      // Father and son share a first name and a surname, and often a phone: a patronymic both
      // clinics have must agree too.
      const left = patronymicOf(a);
      const right = patronymicOf(b);
      if (left !== undefined && right !== undefined && left !== right) return false;
    }
    if (joinOn.includes('birth_date')) {
      const left = birthOf(a);
      const right = birthOf(b);
      if (left !== null && right !== null && left !== right) return false;
    }
    return true;
  }

  private member(mapped: MappedContact, times: ReadonlyMap<string, number>): ChainMember {
    return {
      mapped,
      changedAt: mapped.changedAt,
      changedAtOf: (group) => times.get(group),
      rank: this.deps.source.rankOf?.(mapped.patientId) ?? 0,
    };
  }

  /**
   * When each `latest` value of each patient of a shared contact changed, as the sync saw it (by
   * patient, by value group). Kept as hashes in the state, so a deep sync of either clinic combines
   * the same way and only a real change of a value moves it: a value first seen takes its row's
   * ChangedAt (never later than now); a value seen changed takes now — and always later than any
   * time the contact's patients hold for it, so a clock that ran ahead once does not freeze the
   * value; values of several clinics seen changed at once are ordered by their rows' ChangedAt.
   */
  private valueTimes(members: readonly MappedContact[]): Map<string, Map<string, number>> {
    const now = this.deps.now();
    const rules = new Map(this.deps.fields.map((field) => [field.spec.key, field.spec.combine ?? 'latest']));
    const known = new Map(
      members.map((mapped) => [mapped.patientId, this.deps.values.read(mapped.patientId)]),
    );
    const times = new Map(members.map((mapped) => [mapped.patientId, new Map<string, number>()]));
    const changed = new Map<string, { field: string; hash: string; changedAt: number }[]>();
    const groupsOf = (mapped: MappedContact) => {
      const { document } = mapped;
      const groups = new Map<string, unknown>([
        ['name', [document.name, document.first_name, document.last_name]],
        ['phones', document.phones.map((phone) => phone.value)],
        ['emails', document.emails.map((email) => email.value)],
      ]);
      for (const field of document.fields)
        if (field.key !== 'ident_id' && rules.get(field.key) === 'latest') groups.set(field.key, field.value);
      return groups;
    };
    const hashes = new Map(
      members.map((mapped) => [
        mapped.patientId,
        new Map(
          [...groupsOf(mapped)].map(([group, value]) => [
            group,
            hash('sha256', JSON.stringify(value), 'hex').slice(0, 16),
          ]),
        ),
      ]),
    );
    for (const group of hashes.get(members[0]!.patientId)!.keys()) {
      const newest = Math.max(
        0,
        ...members.map((mapped) => known.get(mapped.patientId)!.get(group)?.changedAt ?? 0),
      );
      const seenChanged: MappedContact[] = [];
      for (const mapped of members) {
        const before = known.get(mapped.patientId)!.get(group);
        const hashed = hashes.get(mapped.patientId)!.get(group)!;
        if (before && before.hash === hashed) times.get(mapped.patientId)!.set(group, before.changedAt);
        else if (!before) {
          const at = Math.min(mapped.changedAt ?? 0, now);
          times.get(mapped.patientId)!.set(group, at);
          changed.set(mapped.patientId, [
            ...(changed.get(mapped.patientId) ?? []),
            { field: group, hash: hashed, changedAt: at },
          ]);
        } else seenChanged.push(mapped);
      }
      seenChanged
        .sort((a, b) => (a.changedAt ?? 0) - (b.changedAt ?? 0))
        .forEach((mapped, index) => {
          const at = Math.max(now, newest + 1) + index;
          times.get(mapped.patientId)!.set(group, at);
          const hashed = hashes.get(mapped.patientId)!.get(group)!;
          changed.set(mapped.patientId, [
            ...(changed.get(mapped.patientId) ?? []),
            { field: group, hash: hashed, changedAt: at },
          ]);
        });
    }
    if (!this.deps.dryRun)
      for (const [patientId, values] of changed) this.deps.values.note(patientId, values);
    return times;
  }

  /** Another clinic's patient as its map makes it (read once a run); null when it is gone or fails to map. */
  private async mappedOf(patientId: string): Promise<MappedContact | null> {
    const known = this.rows.get(patientId);
    if (known !== undefined) return known;
    const row = await this.deps.source.one(patientId);
    const outcome = row ? this.deps.mapper(row) : undefined;
    const mapped = outcome?.ok ? outcome.contact : null;
    this.rows.set(patientId, mapped);
    return mapped;
  }
}
