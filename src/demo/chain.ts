import type { SourceScope } from '../sources/source-key.ts';
import { scopeId } from '../sources/source-key.ts';
import { type ClinicRow, GeneratedSource, syntheticPatient, typedMobile } from './clinic.ts';
import { GeneratedReceptions } from './receptions.ts';

/**
 * A synthetic clinic chain: N IDENT databases whose patient ids overlap (1…K in each, different
 * people), people who are patients of several clinics (the same phone, name and birth date under a
 * different id in each, with their own visits and card numbers there), and families on one number
 * (a relative registered in another clinic with the same phone but another first name and birth
 * date: weak evidence, two people). Every row is made from its id, as the single synthetic clinic's;
 * the first clinic's own patients are exactly that clinic's (`syntheticPatient(id)`), so a state it
 * made alone is the first clinic of the chain. The chain knows who is who: `personOf` answers for
 * any kept id.
 */

/** The columns that describe the person (the same in every clinic); the rest belong to the clinic. */
const PERSON_COLUMNS = [
  'Surname',
  'Name',
  'Patronymic',
  'MobilePhone',
  'Phone',
  'Email',
  'BirthDate',
  'Sex',
  'INN',
  'SNILS',
  'Passport',
  'City',
  'Address',
] as const;

/** Person seeds: clinic c's own patients are c·1 000 000 + id, shared people and relatives above. */
const CLINIC_STRIDE = 1_000_000;
const SHARED_BASE = 8_000_000;
const RELATIVE_BASE = 9_000_000;

export interface ChainOptions {
  /** The databases' keys, first to last (`center`, `north`, …). */
  keys: readonly string[];
  /** The first key keeps bare ids (the clinic that synced alone before). */
  firstBare?: boolean;
  /** Each clinic's own patients: ids 1…K. */
  patients: number;
  /** People who are patients of several clinics. */
  sharedPeople: number;
  /** Relatives on another clinic's patient's number (same phone and surname, another first name). */
  relatives?: number;
  /** Receptions per clinic (0: none); they go round the clinic's patients as the single clinic's. */
  receptions?: number;
}

export interface ChainClinic {
  scope: SourceScope;
  patients: GeneratedSource;
  receptions: GeneratedReceptions;
  /** Person of each IDENT id of this clinic. */
  people: Map<number, string>;
}

export interface SyntheticChain {
  clinics: ChainClinic[];
  /** Distinct real people across the chain. */
  people: number;
  /** The person a kept id (`north:77`, or a bare id of the bare clinic) belongs to. */
  personOf(kept: string): string | undefined;
  /** People who are patients of more than one clinic, with their kept ids. */
  shared: Map<string, string[]>;
}

interface Member {
  person: string;
  seed: number;
  /** Another person's number (a relative's): the phone is theirs, the first name and birth date not. */
  phoneOf?: number;
}

/** Which clinics shared person j is a patient of: all of them for every third, else two neighbours. */
function clinicsOf(j: number, count: number): number[] {
  if (count <= 2 || j % 3 === 0) return Array.from({ length: count }, (_, index) => index);
  return [j % count, (j + 1) % count];
}

/** A seed from `from` up whose synthetic person has a mobile number and a birth date. */
function seedWithPhone(from: number): number {
  for (let seed = from; ; seed += 1) {
    const row = syntheticPatient(seed, new Date(0));
    if (row.MobilePhone !== null && (row.BirthDate as Date).getUTCFullYear() > 1900) return seed;
  }
}

export function syntheticChain(options: ChainOptions): SyntheticChain {
  const { keys, patients } = options;
  const own = (clinic: number, from: number, to: number): Member[] =>
    Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => ({
      person: `${keys[clinic]}#${from + index}`,
      seed: clinic * CLINIC_STRIDE + from + index,
    }));
  const sharedOf = keys.map(() => [] as Member[]);
  let nextShared = SHARED_BASE;
  for (let j = 0; j < options.sharedPeople; j += 1) {
    const seed = seedWithPhone(nextShared);
    nextShared = seed + 1;
    for (const clinic of clinicsOf(j, keys.length)) sharedOf[clinic]!.push({ person: `shared#${j}`, seed });
  }
  // The first clinic's shared people come after its own patients (its ids 1…K stay the single
  // clinic's); another clinic's come among its own, each clinic at another place, so a shared
  // person has a different id (and card) in each.
  const members = keys.map((_, clinic) => {
    const at = clinic === 0 ? patients : Math.floor((clinic * patients) / keys.length);
    return [...own(clinic, 1, at), ...sharedOf[clinic]!, ...own(clinic, at + 1, patients)];
  });
  let nextRelative = RELATIVE_BASE;
  for (let j = 0; j < (options.relatives ?? 0); j += 1) {
    // The relative of clinic j's own patient (one with a number) is registered in the next clinic.
    const home = j % keys.length;
    const relativeOf = seedWithPhone(home * CLINIC_STRIDE + 1 + j * 7);
    if (relativeOf - home * CLINIC_STRIDE > patients) break;
    const seed = seedWithPhone(nextRelative);
    nextRelative = seed + 1;
    members[(home + 1) % keys.length]!.push({ person: `relative#${j}`, seed, phoneOf: relativeOf });
  }
  const clinics = keys.map((key, clinic): ChainClinic => {
    const list = members[clinic]!;
    const scope = { key, bare: clinic === 0 && options.firstBare === true };
    const people = new Map(list.map((member, index) => [index + 1, member.person]));
    const make = (id: number, changedAt: Date, version: number): ClinicRow => {
      const member = list[id - 1];
      // Patients registered since (the demo's `add`) are new people of this clinic.
      const seed = member?.seed ?? clinic * CLINIC_STRIDE + id;
      if (clinic === 0 && seed === id) return syntheticPatient(id, changedAt, version);
      return personRow(id, seed, member?.phoneOf, key, changedAt, version);
    };
    const source = new GeneratedSource(list.length, 1, make);
    const receptions = new GeneratedReceptions(options.receptions ?? 0, { count: list.length });
    return { scope, patients: source, receptions, people };
  });
  const shared = new Map<string, string[]>();
  for (const clinic of clinics)
    for (const [id, person] of clinic.people)
      if (person.startsWith('shared#'))
        shared.set(person, [...(shared.get(person) ?? []), scopeId(clinic.scope, String(id))]);
  return {
    clinics,
    people: new Set(members.flat().map((member) => member.person)).size,
    shared,
    personOf(kept) {
      for (const clinic of clinics) {
        const { key, bare } = clinic.scope;
        const match = bare ? /^(\d+)$/.exec(kept) : new RegExp(`^${key}:(\\d+)$`).exec(kept);
        if (match) return clinic.people.get(Number(match[1])) ?? `${key}#${match[1]}`;
      }
      return undefined;
    },
  };
}

/** Clinic `key`'s patient `id`: the person of `seed`, the clinic's own card, visits and branch. */
function personRow(
  id: number,
  seed: number,
  phoneOf: number | undefined,
  key: string,
  changedAt: Date,
  version: number,
): ClinicRow {
  const person = syntheticPatient(seed, changedAt, 0);
  const own = syntheticPatient(id, changedAt, version);
  const row: ClinicRow = { ...own };
  for (const column of PERSON_COLUMNS) row[column] = person[column];
  if (person.MobilePhone !== null) row.MobilePhone = chainMobile(seed);
  // The single clinic's landline repeats every 7 000 000 ids: one of the seed's own.
  if (person.Phone !== null)
    row.Phone = `+7 34${Math.floor(seed / CLINIC_STRIDE)} ${String(seed % CLINIC_STRIDE).padStart(7, '0')}`;
  if (own.BranchName !== null) row.BranchName = `Клиника ${key}`;
  if (phoneOf !== undefined) {
    const relative = syntheticPatient(phoneOf, changedAt, 0);
    row.MobilePhone = phoneOf < CLINIC_STRIDE ? typedMobile(phoneOf) : chainMobile(phoneOf);
    // One family: the relative's surname in this person's form, another first name and birth date.
    row.Surname = `${String(relative.Surname).replace(/а$/, '')}${seed % 2 === 1 ? 'а' : ''}`;
    if (relative.Name === person.Name) row.Name = syntheticPatient(seed + 2, changedAt, 0).Name;
  }
  return row;
}

/**
 * The mobile cell of a person of the chain beyond the first clinic's own patients. The single
 * clinic's second number in a cell is made from the id's last three digits, so two people of two
 * clinics would share it (with the same name, made from the last digit): evidence of one person
 * where there are two. Here the second number is made from the whole seed.
 */
function chainMobile(seed: number): string {
  const first = typedMobile(seed);
  if (seed % 8 !== 6) return first;
  const rest = String(Math.floor(seed / 100) % 10_000_000).padStart(7, '0');
  return `${first.split(',')[0]!}, 8 9${String(seed % 100).padStart(2, '0')} ${rest}`;
}
