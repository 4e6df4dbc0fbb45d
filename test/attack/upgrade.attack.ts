import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusReport } from '../../src/cli/commands/status.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { assertConverged, syncStack } from '../helpers/sync-stack.ts';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';
/**
 * The release before these commits, checked out beside this one:
 *   git worktree add ../old e367912 && ln -s "$PWD/node_modules" ../old/node_modules
 *   OLD_TREE=../old node --test test/attack/upgrade.attack.ts
 */
const OLD_TREE = process.env.OLD_TREE;

describe('attack: a state folder of e367912 run by the new code', () => {
  it('status reads it read-only, and the next runs converge', { skip: !OLD_TREE }, async () => {
    const { resolve } = await import('node:path');
    const oldStack = `${resolve(OLD_TREE!)}/test/helpers/sync-stack.ts`;
    const oldSyncStack = (await import(oldStack)).syncStack as typeof syncStack;
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(10, 100));
      const old = await oldSyncStack(emulator, source);
      const mapper = old.mapper;
      old.mapper = ((row) => {
        const outcome = mapper(row);
        if (outcome.ok && (row.PatientId === 105 || row.PatientId === 200))
          outcome.contact.document.fields.find((f) => f.key === 'sms_rejection')!.value = 'maybe';
        return outcome;
      }) as typeof mapper;
      assert.equal((await old.run()).created, 10);
      // A pending create left by the old release (its answer lost).
      source.put({ ...syntheticPatients(1, 200)[0]!, ChangedAt: source.tick(60_000) });
      emulator.scriptFault({ method: 'POST', status: 503 });
      const lost = await old.run();
      assert.equal(lost.pending, 1);
      // A contact deleted, noticed by the old release's deep sync? (it re-created at once)
      old.store.close();
      const env = {
        AMOCRM_BASE_URL: emulator.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: 'upgrade-token',
        STATE_DIR: old.stateDir,
      };
      const status = statusReport(loadConfig(env));
      assert.match(status.text, /creates to confirm: 1/);
      assert.doesNotMatch(status.text, /contacts gone/);

      const stack = await syncStack(emulator, source, { stateDir: old.stateDir });
      stack.mapper = old.mapper;
      stack.clock.advance(PAST_PENDING_WAIT_MS);
      const next = await stack.run();
      assert.equal(next.outcome, 'ok', next.error?.message);
      // (no deep sync here: the test's mapper override leaves the hash unchanged, so a deep sync would
      // call the refused value in place)
      assert.deepEqual(
        stack.store
          .fieldRefusals()
          .map((refusal) => `${refusal.patientId}:${refusal.field}`)
          .sort(),
        ['105:sms_rejection', '200:sms_rejection'],
      );
      stack.mapper = mapper;
      await assertConverged(emulator, source, stack);
      assert.match(statusReport(loadConfig(env)).text, /refused values: +2/);
    } finally {
      await emulator.stop();
    }
  });
});
