import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startEmulator, tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';
import { MemorySource, syntheticPatient } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';

describe('ident-sync status', () => {
  it('says when nothing has run yet', async () => {
    const run = await runCli(['status'], { STATE_DIR: tempDir() });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /No sync has run with .* yet/);
  });

  it('shows the checkpoint, runs, refused values and links, as text and JSON', async () => {
    const emulator = await startEmulator();
    try {
      const rows = Array.from({ length: 30 }, (_, index) =>
        syntheticPatient(index + 1, new Date(Date.UTC(2026, 10, 20, 10))),
      );
      rows.push({
        ...syntheticPatient(31, new Date(Date.UTC(2026, 10, 20, 10))),
        CardNumber: 'x'.repeat(300),
      });
      const stack = await syncStack(emulator, new MemorySource(rows));
      const mapper = stack.mapper;
      stack.mapper = ((row) => {
        const outcome = mapper(row);
        if (outcome.ok && row.PatientId === 31)
          outcome.contact.document.fields.find((f) => f.key === 'sms_rejection')!.value = 'bad';
        return outcome;
      }) as typeof mapper;
      await stack.run();
      stack.store.close();
      const text = await runCli(['status'], { STATE_DIR: stack.stateDir, AMOCRM_LONG_LIVED_TOKEN: 't' });
      assert.equal(text.code, 0, text.stderr);
      // Every time on the clinic's clock (TZ, Europe/Moscow by default) with its offset; none in UTC's Z.
      assert.match(text.stdout, /checkpoint: +2026-11-20 10:00:00 \+03:00 \(IDENT server clock\)/);
      assert.match(text.stdout, /read in full \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+03:00/);
      assert.match(text.stdout, /^1 +initial +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+03:00 +ok /m);
      assert.doesNotMatch(text.stdout, /\d\d:\d\dZ/);
      // A value amoCRM refuses costs that field: the patient is synced without it, and it is listed.
      assert.match(text.stdout, /linked contacts: +31/);
      assert.match(text.stdout, /open failures: +0/);
      assert.match(text.stdout, /refused values: +1/);
      assert.match(text.stdout, /patient 31, field sms_rejection: InvalidType/);
      assert.match(text.stdout, /amoCRM token: +long-lived/);
      assert.match(text.stdout, /amoCRM mirror: +31 contact\(s\), read in full/);
      assert.match(text.stdout, /1 +initial .* ok +31 +0 +31 +0 +0 +0 +0/);
      const json = JSON.parse((await runCli(['status', '--json'], { STATE_DIR: stack.stateDir })).stdout);
      assert.equal(json.linkedContacts, 31);
      assert.equal(json.runs[0].created, 31);
      assert.deepEqual(
        json.refusals.map((refusal: { patientId: string; field: string }) => [
          refusal.patientId,
          refusal.field,
        ]),
        [['31', 'sms_rejection']],
      );
      assert.equal(json.token.kind, 'none');
    } finally {
      await emulator.stop();
    }
  });
});
