import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventKind } from './events.ts';
import { replayCommand, runHistory, type Script } from './history.ts';

const STEPS = 40;

/** An event with its random numbers written out (r[3] is the time before it: 0 = five seconds). */
const at = (kind: EventKind, ...r: number[]) => ({ kind, r: [...r, 0, 0, 0, 0, 0].slice(0, 5) });

/**
 * The stories the simulation found breaking the engine before issue 18's fixes, written out so a
 * change of the generator does not change them. Each failed on 5bda26e's engine (checked with the
 * engine of d159dfa under this harness) and must now hold every property.
 */
const REGRESSIONS: { hole: string; script: Script }[] = [
  {
    hole: '1: a create amoCRM applies after the client gave up is not sent again',
    script: {
      patients: 20,
      filterIgnored: false,
      events: [
        at('faultDelayedApply', 0.3),
        at('runIncremental'),
        at('runIncremental'),
        at('runIncremental'),
      ],
    },
  },
  {
    hole: '1: the same for deals',
    script: {
      patients: 20,
      filterIgnored: false,
      events: [
        at('runIncremental'),
        at('bookVisit', 0.1, 0.6),
        at('bookVisit', 0.5, 0.7),
        at('bookVisit', 0.9, 0.8),
        at('faultDelayedApply', 0.3),
        at('runIncremental'),
        at('runIncremental'),
      ],
    },
  },
  {
    hole: '3: a wall clock stepped back half a day stalls nothing',
    script: {
      patients: 20,
      filterIgnored: false,
      events: [at('runIncremental'), at('clockStep', 0.95, 0.1), at('newPatient', 0.9), at('runIncremental')],
    },
  },
  {
    hole: '5: a phone IDENT removed leaves amoCRM',
    script: {
      patients: 10,
      filterIgnored: false,
      events: [at('runIncremental'), at('removePhone', 0.05, 0.2), at('runIncremental')],
    },
  },
  {
    hole: 'found by the simulation: a contact a lagging list leaves out is not taken for deleted',
    script: {
      patients: 12,
      filterIgnored: false,
      events: [
        at('faultListingLag', 0.8),
        at('runDeep'),
        at('editPatient', 0.1, 0.5, 0.2),
        at('editPatient', 0.6, 0.5, 0.2),
        at('runDeep'),
      ],
    },
  },
  {
    hole: '6b: a value amoCRM takes again lands within a day',
    script: {
      patients: 12,
      filterIgnored: true,
      events: [
        at('adminRemovesOption'),
        at('runIncremental'),
        at('adminRestoresOption'),
        at('runIncremental'),
      ],
    },
  },
  {
    hole: 'found by the simulation: a create sent without a refused value and found after a kill keeps the refusal listed',
    // Seed 31337, history 62, shrunk: the second POST of a run (the first refused 'Женский') is
    // applied late and the process killed; the create found on restart must carry its refusal.
    script: {
      patients: 283,
      filterIgnored: false,
      events: [
        at('adminRemovesOption', 0.831, 0.713, 0.555, 0.737, 0.827),
        at('newPatient', 0.671, 0.91, 0.093, 0.561, 0.9),
        at('newPatient', 0.131, 0.352, 0.116, 0.508, 0.227),
        at('managerTypesDuringRun', 0.158, 0.777, 0.832, 0.918, 0.141),
        at('managerAddPhone', 0.133, 0.379, 0.971, 0.74, 0.993),
        at('newPatient', 0.678, 0.732, 0.483, 0.128, 0.467),
        at('runIncremental', 0.41, 0.644, 0.401, 0.066, 0.522),
        at('editPatient', 0.189, 0.427, 0.297, 0.778, 0.215),
        at('newPatient', 0.296, 0.403, 0.12, 0.374, 0.763),
        at('kill', 0.184, 0.893, 0.493, 0.329, 0.008),
      ],
    },
  },
  {
    hole: "found by the simulation: a caller's number a manager typed stays when a kill interrupts the take-over",
    // Seed 424242, history 558, written out: the PATCH taking the typed contact over is applied and
    // the process killed before the link is saved; the contact, found again by its IDENT id, must not
    // count the manager's number as the sync's (cleared with null once IDENT drops it).
    script: {
      patients: 2,
      filterIgnored: false,
      events: [
        at('runIncremental'),
        at('managerCreatesContact'),
        at('newPatient', 0),
        at('kill', 0.1, 0.5, 0.1, 0),
        at('runIncremental'),
        at('removePhone', 0.99, 0.9),
        at('runIncremental'),
      ],
    },
  },
  {
    hole: 'found by the simulation: a contact merged into one the lists do not show yet is not replaced by a new one',
    // Seed 1, history 339, shrunk: a manager merges a patient's contact into a contact typed
    // minutes ago, while amoCRM's lists still leave fresh contacts out; the deep sync after it must
    // not take the patient's contact for deleted and make a second one.
    script: {
      patients: 5,
      filterIgnored: false,
      events: [
        at('runIncremental', 0.65, 0.797, 0.357, 0.621, 0.688),
        at('faultListingLag', 0.883, 0.626, 0.503, 0.846, 0.102),
        at('managerCreatesContact', 0.112, 0.786, 0.601, 0.593, 0.083),
        at('managerMerge', 0.927, 0.196, 0.695, 0.404, 0.573),
        at('runDeep', 0.619, 0.162, 0.777, 0.166, 0.71),
      ],
    },
  },
  {
    hole: 'found by the simulation: a refusal is listed while its create waits to be proven',
    // Seed 2, history 191, shrunk: a create sent again without a refused value is applied, the
    // process killed, and lagging lists keep it unproven for minutes: its refusal is listed meanwhile.
    script: {
      patients: 11,
      filterIgnored: false,
      events: [
        at('faultListingLag', 0.644, 0.35, 0.072, 0.075, 0.698),
        at('runDeep', 0.273, 0.942, 0.674, 0.93, 0.095),
        at('managerDelete', 0.081, 0.329, 0.678, 0.763, 0.348),
        at('managerMerge', 0.651, 0.777, 0.874, 0.719, 0.822),
        at('editPatient', 0.134, 0.47, 0.813, 0.87, 0.92),
        at('newPatient', 0.676, 0.827, 0.706, 0.311, 0.466),
        at('managerCloseDeal', 0.735, 0.894, 0.301, 0.821, 0.257),
        at('adminRemovesOption', 0.519, 0.662, 0.023, 0.084, 0.982),
        at('kill', 0.508, 0.369, 0.978, 0.092, 0.808),
        at('runIncremental', 0.521, 0.173, 0.731, 0.597, 0.718),
      ],
    },
  },
  {
    hole: "found by the simulation (issue 19): a no-show is judged on IDENT's clock, not a host clock stepped back",
    // Seed 1, history 36, shrunk: the host's clock steps back eight hours, then a visit an hour ago
    // goes unmarked past its planned end + 3 h; the deal stayed «Записан» (the rule read the host).
    script: {
      patients: 5,
      filterIgnored: false,
      events: [
        at('runIncremental'),
        at('clockStep', 0.671, 0.38),
        at('visitNotAttended', 0.177, 0.769),
        at('runIncremental'),
      ],
    },
  },
  {
    hole: "found by the simulation: a move the sync noted but a kill never sent leaves the deal in the sync's own lost, still undone",
    // Seed 60803, history 144, shrunk: a cancellation undone; the move out of the sync's lost is
    // noted, then the process dies before sending it; the deal, still lost, is the sync's to move.
    script: {
      patients: 5,
      filterIgnored: true,
      receptionsLate: true,
      events: [
        at('enableReceptions', 0.95, 0.426, 0.24, 0.809, 0.871),
        at('managerTypesDuringRun', 0.622, 0.027, 0.803, 0.626, 0.366),
        at('cancelVisit', 0.173, 0.06, 0.631, 0.835, 0.539),
        at('visitNotAttended', 0.015, 0.017, 0.484, 0.914, 0.709),
        at('faultDelayedApply', 0.63, 0.387, 0.531, 0.531, 0.913),
        at('runDeep', 0.31, 0.112, 0.673, 0.937, 0.673),
        at('undoCancel', 0.323, 0.271, 0.542, 0.043, 0.228),
        at('newPatient', 0.251, 0.15, 0.76, 0.395, 0.249),
        at('faultApplied5xx', 0.906, 0.514, 0.794, 0.605, 0.213),
        at('kill', 0.278, 0.2, 0.014, 0.9, 0.457),
      ],
    },
  },
  {
    hole: "found by the simulation: after a state folder went back to an older copy, a caller's typed number is not erased",
    // Seed 424242, history 315, shrunk: a typed contact taken over after the snapshot; the restored
    // state finds it by IDENT id with no record of what the sync owned there: it owns nothing.
    script: {
      patients: 3,
      filterIgnored: false,
      events: [
        at('deletePatient', 0.94, 0.404, 0.548, 0.223, 0.506),
        at('snapshotState', 0.089, 0.332, 0.335, 0.433, 0.231),
        at('managerCreatesContact', 0.288, 0.971, 0.261, 0.897, 0.38),
        at('newPatient', 0.867, 0.7, 0.033, 0.494, 0.85),
        at('managerTypesDuringRun', 0.116, 0.198, 0.649, 0.302, 0.625),
        at('restoreState', 0.055, 0.32, 0.072, 0.961, 0.048),
        at('managerTypesDuringRun', 0.746, 0.674, 0.155, 0.395, 0.845),
        at('removePhone', 0.377, 0.252, 0.958, 0.517, 0.855),
      ],
    },
  },
];

async function holds(options: { seed: number; history: number; script?: Script }): Promise<void> {
  const result = await runHistory({ ...options, steps: STEPS, rps: 7 });
  assert.deepEqual(
    result.violations.map((violation) => `${violation.property}: ${violation.detail.split('\n')[0]}`),
    [],
    options.script ? 'a written-out story' : `replay: ${replayCommand(result, STEPS)}`,
  );
}

describe('the simulation: histories nobody pictured', () => {
  for (const { hole, script } of REGRESSIONS)
    it(`hole ${hole}`, () => holds({ seed: 0, history: 0, script }));

  it('a fixed set of 25 random histories of 40 steps holds every property', async () => {
    for (let history = 0; history < 25; history += 1) await holds({ seed: 20_261_205, history });
  });
});
