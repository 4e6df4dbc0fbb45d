import { Random } from './random.ts';

/**
 * What can happen in a history, with its weight. Each event carries the random numbers it needs,
 * drawn when the history is generated: replaying a list of events (or a shrunk part of it) needs
 * no generator, and an event that names "a patient" names one by a fraction of those that exist
 * then, so it still means something when earlier events were shrunk away.
 */
export const WEIGHTS = {
  // IDENT
  newPatient: 6,
  editPatient: 8,
  removePhone: 2,
  deletePatient: 1,
  mergePatients: 1,
  bookVisit: 5,
  moveVisit: 1,
  cancelVisit: 2,
  cancelByReason: 2,
  undoCancel: 2,
  arriveVisit: 1,
  endVisit: 3,
  deleteVisit: 1,
  visitNotAttended: 2,
  // managers in amoCRM
  managerEdit: 3,
  managerAddPhone: 2,
  managerDelete: 1,
  managerMerge: 1,
  managerMoveDeal: 2,
  managerCloseDeal: 1,
  managerDeleteDeal: 1,
  managerCreatesLead: 2,
  managerCreatesContact: 3,
  managerTypesDuringRun: 2,
  // an admin in amoCRM
  adminRemovesOption: 1,
  adminRestoresOption: 1,
  adminAddsStage: 1,
  adminRenamesStage: 1,
  // SYNC_RECEPTIONS turned on (histories that start with it off)
  enableReceptions: 2,
  // amoCRM's faults, armed for what follows
  faultApplied5xx: 2,
  faultLostAnswer: 2,
  faultDelayedApply: 2,
  fault429: 1,
  faultListingLag: 1,
  faultDateSkew: 2,
  // the process and its clock
  runIncremental: 10,
  runDeep: 3,
  kill: 4,
  snapshotState: 1,
  restoreState: 1,
  clockStep: 2,
  timePasses: 4,
} as const;

/**
 * What only happens in a clinic chain (`--sources` above 1), drawn beside the rest there; a
 * history of one clinic draws from WEIGHTS alone, as before chains.
 */
export const CHAIN_WEIGHTS = {
  // a patient of one clinic registered in another (the same person, a contact already)
  chainRegisterAgain: 4,
  // a shared person's phone or name edited in one clinic only
  chainEditOneClinic: 3,
  // a relative registered on the same number (another person)
  chainRelative: 2,
} as const;

export type EventKind = keyof typeof WEIGHTS | keyof typeof CHAIN_WEIGHTS;

export interface SimEvent {
  kind: EventKind;
  /** Uniform numbers in [0, 1) the event reads in its own way. */
  r: number[];
}

export function generateHistory(seed: number, steps: number, chain = false): SimEvent[] {
  const random = new Random(seed);
  const events: SimEvent[] = [];
  for (let step = 0; step < steps; step += 1) {
    const kind: EventKind = chain
      ? random.weighted({ ...WEIGHTS, ...CHAIN_WEIGHTS })
      : random.weighted(WEIGHTS);
    events.push({ kind, r: Array.from({ length: 5 }, () => random.next()) });
  }
  return events;
}

export function describe(event: SimEvent): string {
  return `${event.kind}(${event.r.map((value) => value.toFixed(3)).join(',')})`;
}
