import type { MappedContact } from '../../mapping/mapper.ts';
import type { ContactMirror, MirrorRow } from '../../state/mirror.ts';
import type { Link } from '../../state/store.ts';
import { emailsOf, phonesOf, sameList } from './multitext.ts';
import { compatibleName } from './names.ts';
import { checkLinkedContact, drifted } from './reconcile.ts';

/**
 * How a patient is matched to an amoCRM contact, from the state and the mirror alone:
 * 1. the contact the state links the patient to;
 * 2. else the contacts carrying the patient's IDENT id (the oldest is kept in sync);
 * 3. else, unless MATCH_BY_PHONE=false, the one contact without an IDENT id that shares a phone
 *    with the patient and has a compatible name (a relative on the same number stays apart);
 * 4. else a new contact.
 */
export type Plan =
  | { action: 'unchanged' }
  /** A contact already holding exactly this data: linked without a write. */
  | { action: 'adopt'; contactId: number }
  | {
      action: 'update';
      contactId: number;
      /** The state's link (absent when a contact is being taken over). */
      link: Link | undefined;
      /** Taking over a contact the state did not link. */
      linking: boolean;
      /** The patient did not change: the contact was edited in amoCRM and is put right. */
      repair: boolean;
      /** The values the sync may treat as its own in PHONE and EMAIL when taking a contact over. */
      assumeOwned: boolean;
      /** What the mirror knows the contact holds (for the PHONE/EMAIL check), when known. */
      held: MirrorRow | undefined;
      /** Joining a chain's shared contact: what the sync owns there through the other clinics' patients. */
      joined?: { phones: string[]; emails: string[] };
    }
  | { action: 'create' };

/** The patient changed in IDENT since the contact was last written. */
export function changedSince(link: Link, mapped: MappedContact): boolean {
  return (
    link.hash !== mapped.hash ||
    !sameList(link.phones, phonesOf(mapped)) ||
    !sameList(link.emails, emailsOf(mapped))
  );
}

/**
 * A linked patient. `row`: the mirror's copy of the contact, when drift is checked (deep syncs,
 * after a complete listing: a missing row means the contact was deleted or merged away).
 * `refusedAt`: the content hash at which amoCRM refused one of its fields (not resent until IDENT changes).
 * 'resolve again': the link is stale (contact gone, or carrying another patient's IDENT id).
 */
export function planLinked(
  mapped: MappedContact,
  link: Link,
  drift: { row: MirrorRow | undefined; refusedAt: string | undefined } | undefined,
): Plan | 'resolve again' {
  const check = drift ? checkLinkedContact(mapped, drift.row, drift.refusedAt) : 'in step';
  if (check === 'missing' || check === 'foreign') return 'resolve again';
  const held = drift?.row;
  const update = (repair: boolean): Plan => ({
    action: 'update',
    contactId: link.contactId,
    link,
    linking: false,
    repair,
    assumeOwned: false,
    held,
  });
  if (changedSince(link, mapped)) return update(false);
  return check === 'drifted' ? update(true) : { action: 'unchanged' };
}

export interface UnlinkedOptions {
  matchByPhone: boolean;
  /** Contacts known gone or not this patient's (a stale link's contact). */
  exclude?: ReadonlySet<number>;
  /** Contacts this run already gave to another patient. */
  claimed: ReadonlySet<number>;
}

/** A patient the state does not link: by IDENT id in the mirror, then by phone, else a new contact. */
export function planUnlinked(
  mapped: MappedContact,
  mirror: ContactMirror,
  options: UnlinkedOptions,
): { plan: Plan; carriers: number[] } {
  const exclude = options.exclude ?? new Set<number>();
  const carriers = mirror.byIdent(mapped.patientId).filter((row) => !exclude.has(row.contactId));
  const oldest = carriers[0];
  if (oldest) {
    const ids = carriers.map((row) => row.contactId);
    if (!drifted(oldest, mapped))
      return { plan: { action: 'adopt', contactId: oldest.contactId }, carriers: ids };
    return {
      plan: {
        action: 'update',
        contactId: oldest.contactId,
        link: undefined,
        linking: true,
        repair: false,
        // It carries the patient's IDENT id: an earlier state of this sync wrote it.
        assumeOwned: true,
        held: oldest,
      },
      carriers: ids,
    };
  }
  if (options.matchByPhone) {
    const byPhone = phoneMatch(mapped, mirror, exclude, options.claimed);
    if (byPhone)
      return {
        plan: {
          action: 'update',
          contactId: byPhone.contactId,
          link: undefined,
          linking: true,
          repair: false,
          assumeOwned: false,
          held: byPhone,
        },
        carriers: [],
      };
  }
  return { plan: { action: 'create' }, carriers: [] };
}

/**
 * The one contact without an IDENT id that shares a phone with the patient and has a compatible
 * name. None, or more than one, means a new contact: a family sharing a number stays apart.
 */
function phoneMatch(
  mapped: MappedContact,
  mirror: ContactMirror,
  exclude: ReadonlySet<number>,
  claimed: ReadonlySet<number>,
): MirrorRow | undefined {
  const patient = { firstName: mapped.document.first_name, lastName: mapped.document.last_name };
  const matches = new Map<number, MirrorRow>();
  for (const phone of phonesOf(mapped)) {
    for (const candidate of mirror.byPhone(phone)) {
      if (exclude.has(candidate.contactId) || claimed.has(candidate.contactId)) continue;
      if (compatibleName(patient, candidate.nameWords)) matches.set(candidate.contactId, candidate);
    }
  }
  return matches.size === 1 ? [...matches.values()][0] : undefined;
}
