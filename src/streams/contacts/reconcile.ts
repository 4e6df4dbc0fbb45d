import type { Logger } from '../../logging/logger.ts';
import type { MappedContact } from '../../mapping/mapper.ts';
import type { MirrorRow } from '../../state/mirror.ts';
import type { Finding, StateStore } from '../../state/store.ts';
import { emailsOf, holdsAll, phonesOf } from './multitext.ts';
import type { RunScratch } from '../runner/scratch.ts';
import { idsInField } from '../../sources/source-key.ts';

/**
 * What a deep sync repairs. It starts from a complete listing of amoCRM's contacts (the mirror;
 * contacts it did not see were looked up by id, so a missing one is really gone), and compares
 * every linked patient's contact with the map of the patient:
 * - deleted or merged away → the patient is matched again (by IDENT id, then phone) or re-created;
 * - carrying another patient's IDENT id → the link is dropped and the patient matched again;
 * - edited by hand in a mapped field, or missing one of IDENT's phones or e-mails → written again,
 *   with only the contacts that differ (an unchanged, untouched clinic costs no write).
 * A field amoCRM refused is not resent until the patient changes in IDENT, or until the refusal was
 * last tried a day ago (`refusals.ts`: then the contact is sent again, once a day).
 * It also reports IDENT ids carried by several contacts, and contacts of patients no longer in IDENT.
 */
export type LinkedCheck = 'in step' | 'drifted' | 'missing' | 'foreign';

export function checkLinkedContact(
  mapped: MappedContact,
  row: MirrorRow | undefined,
  refusedAt: string | undefined,
): LinkedCheck {
  if (!row) return 'missing';
  if (row.identId !== null && !idsInField(row.identId).includes(mapped.patientId)) return 'foreign';
  return drifted(row, mapped) && refusedAt !== mapped.hash ? 'drifted' : 'in step';
}

/** The contact no longer holds what the map makes of the patient (someone edited it in amoCRM). */
export function drifted(row: MirrorRow, mapped: MappedContact): boolean {
  return (
    row.hash !== mapped.hash ||
    !holdsAll(row.phones, phonesOf(mapped)) ||
    !holdsAll(row.emails, emailsOf(mapped))
  );
}

/**
 * After a deep sync has read every patient: IDENT ids on several contacts, and IDENT ids on
 * contacts whose patient the run never read (gone from IDENT). A patient whose row failed is still
 * a patient: its contact is not an orphan. Nothing is deleted; the findings replace the last ones.
 */
export function recordFindings(
  store: StateStore,
  scratch: RunScratch,
  logger: Logger,
  options: { dryRun: boolean },
): { duplicates: Finding[]; orphans: Finding[] } {
  const duplicates = store.mirror
    .duplicates()
    .map(({ identId, contactIds }) => ({ kind: 'duplicate' as const, patientId: identId, contactIds }));
  const unseen: { identId: string; contactIds: number[] }[] = [];
  for (const entry of store.mirror.identIds()) if (!scratch.wasSeen(entry.identId)) unseen.push(entry);
  const failed = new Set<string>();
  for (let start = 0; start < unseen.length; start += 250) {
    for (const id of store.failedAmong(unseen.slice(start, start + 250).map((entry) => entry.identId)))
      failed.add(id);
  }
  const orphans = unseen
    .filter(({ identId }) => !failed.has(identId))
    .map(({ identId, contactIds }) => ({ kind: 'orphan' as const, patientId: identId, contactIds }));
  if (!options.dryRun) {
    store.replaceFindings('duplicate', duplicates);
    store.replaceFindings('orphan', orphans);
    // A patient the complete read did not meet is gone from IDENT: what `status` lists of it ends.
    store.forgetPatients(store.patientsOnRecord().filter((patientId) => !scratch.wasSeen(patientId)));
  }
  if (orphans.length > 0) {
    logger.warn(
      { orphans: orphans.length },
      'amoCRM contacts carry IDENT ids of patients that no longer exist; they are left as they are',
    );
  }
  return { duplicates, orphans };
}
