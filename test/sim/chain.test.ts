import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { EventKind } from './events.ts';
import { type HistoryResult, runHistory, type Script } from './history.ts';

const at = (kind: EventKind, ...r: number[]) => ({ kind, r: [...r, 0, 0, 0, 0, 0].slice(0, 5) });

/** The person-evidence property: what the engine's person matching (issue 20) is measured by. */
const ONE_CONTACT = 'a person with strong evidence has one contact';

/**
 * A clinic chain of two databases in the simulation (`--sources 2`): ids overlapping, every fifth
 * patient in both clinics from the start, then a patient of one clinic registered in the other, a
 * relative on the same number, a shared person's name edited in one clinic only, with a kill and a
 * lost answer on the way.
 */
const CHAIN: Script = {
  patients: 12,
  filterIgnored: false,
  events: [
    at('runIncremental'),
    at('chainRegisterAgain', 0.3, 0.5),
    at('chainRelative', 0.6, 0.7, 0.2),
    at('faultLostAnswer'),
    at('runIncremental'),
    at('chainEditOneClinic', 0.1, 0.9),
    at('kill', 0, 0.5, 0.3, 0.1),
    at('newPatient', 0.5, 0.8),
    at('bookVisit', 0.4, 0.6),
    at('runDeep'),
  ],
};

describe('the simulation of a clinic chain (--sources 2)', () => {
  let result: HistoryResult;
  before(async () => {
    result = await runHistory({
      seed: 0,
      history: 0,
      steps: CHAIN.events.length,
      rps: 7,
      sources: 2,
      script: CHAIN,
    });
  });

  it('plays a chain with shared people, a relative on one number and overlapping ids', () => {
    const chain = result.counts?.chain;
    assert.ok(chain, 'the chain was counted');
    assert.ok(chain.sharedPeople >= 3, `${chain.sharedPeople} shared people`);
    assert.ok(chain.people < result.counts!.patients, 'fewer people than patients');
    assert.ok(result.counts!.kills >= 1, 'the kill landed in a run');
  });

  it('holds every property of one clinic, no contact carries two people, a converged deep sync writes 0, ≤ 7 requests a second', () => {
    assert.deepEqual(
      result.violations
        .filter((violation) => violation.property !== ONE_CONTACT)
        .map((violation) => `${violation.property}: ${violation.detail.split('\n')[0]}`),
      [],
    );
    assert.equal(result.counts!.chain!.wrongPerson, 0);
    assert.ok(result.counts!.maxRequestsPerSecond <= 7);
  });

  it('puts each person with strong evidence on one contact', () => {
    assert.deepEqual(
      result.violations
        .filter((violation) => violation.property === ONE_CONTACT)
        .map((violation) => violation.detail),
      [],
    );
    assert.equal(result.counts!.chain!.split, 0);
  });
});
