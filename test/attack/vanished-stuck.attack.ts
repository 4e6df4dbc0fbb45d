import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startEmulator } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';

describe('attack: vanished entries that never end', () => {
  it('V1: a patient deleted from IDENT after its contact vanished stays "gone" for ever', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(3, 100));
      const stack = await syncStack(emulator, source);
      await stack.run({ kind: 'deep' });
      emulator.deleteContact(stack.store.link('101')!.contactId);
      await stack.run({ kind: 'deep' });
      assert.equal(stack.store.vanishedCount(), 1);
      source.remove('101');
      for (let day = 0; day < 3; day++) {
        stack.clock.advance(PAST_PENDING_WAIT_MS);
        assert.equal((await stack.run({ kind: 'deep' })).outcome, 'ok');
      }
      assert.equal(
        stack.store.vanishedCount(),
        0,
        '`status` says "contacts gone: 1" for a patient IDENT no longer has',
      );
    } finally {
      await emulator.stop();
    }
  });

  it('V2: a dry-run deep sync past the wait says what the real one does', async () => {
    const emulator = await startEmulator();
    try {
      const source = new MemorySource(syntheticPatients(3, 100));
      const stack = await syncStack(emulator, source);
      await stack.run({ kind: 'deep' });
      emulator.deleteContact(stack.store.link('101')!.contactId);
      await stack.run({ kind: 'deep' });
      stack.clock.advance(PAST_PENDING_WAIT_MS);
      const dry = await stack.run({ kind: 'deep' }, { dryRun: true });
      const real = await stack.run({ kind: 'deep' });
      assert.equal(real.created, 1);
      assert.equal(dry.created, real.created, `dry run: created ${dry.created}, pending ${dry.pending}`);
    } finally {
      await emulator.stop();
    }
  });
});
