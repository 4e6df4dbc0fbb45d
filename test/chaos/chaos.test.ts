import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passed, runChaos } from './trials.ts';

describe('chaos, short version (npm run chaos runs the full one)', () => {
  it('kill -9, emulator faults, SQL failures and deal trials all converge with nothing duplicated, missing or wrong', async () => {
    const results = await runChaos({
      killTrials: 2,
      killPatients: 400,
      faultPatients: 200,
      faultKinds: ['everything', 'refresh by another process'],
      sqlKinds: ['connection drop'],
      realityTrials: ['lag kill', 'deleted: bad-request'],
      dealKillTrials: 1,
      dealPatients: 60,
      // Two at a time: the trials' emulators share this process's event loop, and a loop kept busy
      // by one trial's sync stamps another emulator's arrivals late, bunching requests the client
      // spaced (the short version runs beside the other test files on a 2-core machine).
      concurrency: 2,
      seed: 7,
    });
    assert.equal(results.length, 9);
    for (const result of results) {
      assert.ok(passed(result), `${result.trial}: ${JSON.stringify(result)}`);
    }
  });
});
