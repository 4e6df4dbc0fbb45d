import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

/** A chain's state: center kept bare ids (it synced alone before), north's carry its key. */
function chainState(): string {
  const stateDir = tempDir();
  const store = new StateStore(stateDir);
  const link = (patientId: string, contactId: number) => ({
    patientId,
    contactId,
    hash: 'h',
    phones: [],
    emails: [],
    ownedPhones: [],
    ownedEmails: [],
  });
  store.saveLinks([
    link('1', 101),
    link('2', 102),
    link('3', 103),
    { ...link('north:1', 201), refused: [{ field: 'sms_rejection', detail: 'InvalidType' }], landed: [] },
    link('south:9', 301),
  ]);
  store.recordFailures([
    { patientId: 'north:2', reason: 'the row cannot be mapped' },
    { patientId: 'north:3', reason: 'the row cannot be mapped' },
    { patientId: '4', reason: 'the row cannot be mapped' },
  ]);
  store.close();
  return stateDir;
}

describe('ident-sync status in a clinic chain', () => {
  it('shows each source: patients linked, open failures, refused values (bare ids are the bare source)', async () => {
    const stateDir = chainState();
    const env = { STATE_DIR: stateDir, SOURCES: 'center,north', SOURCE_BARE_IDS: 'center' };
    const text = await runCli(['status'], env);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    const at = lines.indexOf('sources:');
    assert.deepEqual(lines.slice(at, at + 6), [
      'sources:',
      '  source                  patients linked  open failures  refused values',
      '  ----------------------  ---------------  -------------  --------------',
      '  center (bare ids)       3                1              0',
      '  north                   1                2              1',
      '  south (not in SOURCES)  1                0              0',
    ]);

    const json = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    assert.deepEqual(json.sources, [
      { key: 'center', bare: true, configured: true, linked: 3, failures: 1, refusals: 0 },
      { key: 'north', bare: false, configured: true, linked: 1, failures: 2, refusals: 1 },
      { key: 'south', bare: false, configured: false, linked: 1, failures: 0, refusals: 0 },
    ]);
  });

  it('a single clinic: no per-source lines, as before', async () => {
    const run = await runCli(['status', '--json'], { STATE_DIR: chainState() });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).sources, undefined);
  });
});
