import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

describe('ident-sync demo', () => {
  it('runs the daemon against an emulator and a synthetic clinic: initial, incremental and deep runs of contacts and deals, then status; exit 0', async () => {
    const run = await runCli(
      ['demo', '--patients', '300', '--minutes', '1', '--tick', '10'],
      {},
      { timeoutMs: 150_000 },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout.slice(-2000));
    assert.match(run.stdout, /^DEMO — synthetic patients and an emulated amoCRM on this machine/m);
    assert.match(run.stdout, /fields: +26 of the map's 26 contact fields created/);
    assert.match(
      run.stdout,
      /deals: +7 deal fields and the pipelines «Первичные пациенты», «Повторные пациенты» created/,
    );
    assert.match(
      run.stdout,
      /IDENT \(synthetic\): reception 601 booked for patient \d+, reception \d+ completed, reception \d+ cancelled/,
    );
    assert.match(
      run.stdout,
      /IDENT \(synthetic\): patients .* edited, patient 301 registered, the mobile of patient \d+ removed/,
    );
    // status, printed at the end: every kind of run, all ok, every patient linked.
    const table = run.stdout.slice(run.stdout.lastIndexOf('run  kind'));
    for (const kind of ['initial', 'incremental', 'deep'])
      assert.match(table, new RegExp(`^\\d+ +${kind} +\\S+ \\S+ +ok `, 'm'), kind);
    assert.doesNotMatch(table, /^\d+ +\S+ +\S+ \S+ +(failed|stopped) /m);
    assert.match(run.stdout, /linked contacts: +30[1-9]/);
    // 600 synthetic receptions and at least one booked by the demo, each a deal; nothing failed.
    assert.match(run.stdout, /deals: +6[0-9][0-9] linked; 0 open failure\(s\); 0 refused value\(s\)/);
    assert.match(run.stdout, /The deals: +GET http:\/\/127\.0\.0\.1:\d+\/__emulator\/leads/);
    assert.match(run.stdout, /The contacts: http:\/\/127\.0\.0\.1:\d+\//);
  });
});
