import type { FieldValueOut } from '../../amocrm/types.ts';
import type { MappedContact } from '../../mapping/mapper.ts';
import { normalisePhone } from '../../mapping/transforms/phone.ts';

/**
 * PHONE and EMAIL are lists a manager edits too, and amoCRM replaces a multitext field's whole
 * list on update (zero-archive/amocrm-php #50, Krukov/amocrm_api #24: integrators merge with the
 * current values). So the sync owns only the values it wrote: on update it sends what the contact
 * holds now, minus the values it wrote earlier that IDENT no longer has, plus IDENT's values —
 * compared by normalised number or address, so "8 (916) 123-45-67" typed by a manager and
 * +79161234567 from IDENT are one number. When that leaves nothing — every value the contact held
 * was the sync's and IDENT has none — the field is cleared (`clears`); a manager's value never is.
 */

export type MultitextKind = 'phone' | 'email';

/** A value as amoCRM holds it: the text as typed, with its enum. */
export interface HeldValue {
  value: string;
  enum_id?: number;
  enum_code?: string;
}

export function normaliseValue(kind: MultitextKind, written: string): string {
  if (kind === 'email') return written.trim().toLowerCase();
  return normalisePhone(written).phone ?? written.replace(/\D/g, '');
}

export interface Merge {
  /** The list to send: the contact's values in their order, then IDENT's new ones. */
  values: FieldValueOut[];
  /** False when the contact already holds exactly this list: nothing to send. */
  changed: boolean;
  /** IDENT's values the sync now owns: those it added or owned before (never a manager's). */
  owned: string[];
  /**
   * The list ends empty and every value it held was the sync's (IDENT removed them all): the field
   * is cleared. `values` is then empty; how a clear is spelt is the writer's business.
   */
  clears: boolean;
}

/**
 * `ours`: IDENT's values (normalised) with the map's enum codes. `owned`: the values the sync
 * wrote before and still owns. `held`: what the contact holds now.
 */
export function mergeMultitext(
  kind: MultitextKind,
  held: readonly HeldValue[],
  ours: readonly { value: string; enum_code: string }[],
  owned: readonly string[],
): Merge {
  const norm = (written: string) => normaliseValue(kind, written);
  const identValues = new Set(ours.map((item) => norm(item.value)));
  const ownedBefore = new Set(owned);
  const removed = new Set(owned.filter((value) => !identValues.has(value)));
  const kept = held.filter((item) => item.value.trim() !== '' && !removed.has(norm(item.value)));
  const keptValues = new Set(kept.map((item) => norm(item.value)));
  const added = ours.filter((item, index) => {
    const value = norm(item.value);
    // IDENT's own list may repeat a number under two sources: send it once.
    return !keptValues.has(value) && ours.findIndex((other) => norm(other.value) === value) === index;
  });
  const addedValues = new Set(added.map((item) => norm(item.value)));
  const values: FieldValueOut[] = [
    ...kept.map((item) =>
      item.enum_code
        ? { value: item.value, enum_code: item.enum_code }
        : item.enum_id !== undefined
          ? { value: item.value, enum_id: item.enum_id }
          : { value: item.value },
    ),
    ...added.map((item) => ({ value: item.value, enum_code: item.enum_code })),
  ];
  const removedHeld = held.length - kept.length;
  return {
    values,
    changed: added.length > 0 || removedHeld > 0,
    owned: [...identValues].filter((value) => ownedBefore.has(value) || addedValues.has(value)),
    clears: values.length === 0 && removedHeld > 0,
  };
}

/** Owned values that IDENT still has (PHONE/EMAIL left unsent keep what the sync owned). */
export const keptOwned = (owned: readonly string[], ident: readonly string[]) =>
  owned.filter((value) => ident.includes(value));

/** The same values in the same order. */
export const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((value, index) => value === b[index]);

/** Whether every one of IDENT's values is among the contact's (normalised). */
export function holdsAll(
  contactValues: ReadonlySet<string> | readonly string[],
  ours: readonly string[],
): boolean {
  const set = contactValues instanceof Set ? contactValues : new Set(contactValues);
  return ours.every((value) => set.has(value));
}

/** IDENT's normalised phones and e-mails of a mapped patient, in the map's order. */
export const phonesOf = (mapped: MappedContact) => mapped.document.phones.map((phone) => phone.value);
export const emailsOf = (mapped: MappedContact) => mapped.document.emails.map((email) => email.value);
