import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CLI } from '../helpers/cli.ts';

/** The demo in a child process; resolves with its output once it says the emulator keeps serving. */
function startDemo(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'demo', ...args], {
    env: { PATH: process.env.PATH ?? '', ENV_FILE: '/nonexistent/.env', LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const serving = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the demo did not finish:\n${stderr}${stdout.slice(-3000)}`)),
      170_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/keeps serving them until Ctrl-C/.test(stdout)) {
        clearTimeout(timer);
        resolve(stdout);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before serving:\n${stderr}${stdout.slice(-3000)}`));
    });
  });
  return { child, serving, exited, output: () => stdout };
}

/** The table rows of an emulator page, cell texts unescaped. */
const rowsOf = (html: string) =>
  [...html.matchAll(/<tr>(<td>.*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td>(.*?)<\/td>/g)].map((cell) =>
      cell[1]!.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))),
    ),
  );

describe('ident-sync demo', () => {
  it('runs the daemon against an emulator and a synthetic clinic, then keeps the emulator serving its pages until Ctrl-C', async () => {
    const demo = startDemo([
      '--patients',
      '300',
      '--minutes',
      '1',
      '--tick',
      '10',
      '--port',
      '0',
      '--health-port',
      '0',
    ]);
    try {
      const stdout = await demo.serving;
      assert.match(stdout, /^DEMO — synthetic patients and an emulated amoCRM on this machine/m);
      assert.match(stdout, /fields: +26 of the map's 26 contact fields created/);
      assert.match(
        stdout,
        /deals: +7 deal fields and the pipelines «Первичные пациенты», «Повторные пациенты» created/,
      );
      assert.match(
        stdout,
        /IDENT \(synthetic\): reception 601 booked for patient \d+, reception \d+ completed, reception \d+ cancelled/,
      );
      assert.match(
        stdout,
        /IDENT \(synthetic\): patients .* edited, patient 301 registered, the mobile of patient \d+ removed/,
      );
      // status, printed at the end: every kind of run, all ok, every patient linked; times in the clinic's zone.
      const table = stdout.slice(stdout.lastIndexOf('run  kind'));
      for (const kind of ['initial', 'incremental', 'deep'])
        assert.match(
          table,
          new RegExp(`^\\d+ +${kind} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\+03:00 +ok `, 'm'),
          kind,
        );
      assert.doesNotMatch(table, /^\d+ +\S+ +\S+ \S+ \S+ +(failed|stopped) /m);
      assert.match(stdout, /linked contacts: +30[1-9]/);
      // IDENT's clock is the clinic's wall clock: the checkpoints are now, not three hours off.
      for (const [, at] of stdout.matchAll(/checkpoint: +(\S+ \S+ \+03:00) \(IDENT server clock\)/g))
        assert.ok(Math.abs(Date.parse(at!.replace(' ', 'T').replace(' ', '')) - Date.now()) < 600_000, at);
      assert.equal([...stdout.matchAll(/checkpoint: .*\(IDENT server clock\)/g)].length, 2);
      // 600 synthetic receptions and at least one booked by the demo, each a deal; nothing failed.
      assert.match(stdout, /deals: +6[0-9][0-9] linked; 0 open failure\(s\); 0 refused value\(s\)/);

      // The log: the clinic's zone, and the schedule that really runs.
      const log = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(log.length > 0);
      for (const line of log) assert.match(String(line.time), /\+03:00$/);
      const schedule = log.find((line) => line.msg === 'schedule started')!;
      assert.equal(schedule.incremental, "every 10 s (the demo's pace)");
      assert.match(String(schedule.deep), /^once, 15 s before the demo ends$/);

      // The links printed at the end answer: the emulator still serves.
      const base = /The contacts: (http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(stdout)![1]!;
      assert.match(stdout, new RegExp(`^The deals: +${base}/__emulator/leads$`, 'm'));
      const contacts = await fetch(`${base}/`);
      assert.match(contacts.headers.get('content-type')!, /text\/html/);
      const rows = rowsOf(await contacts.text());
      assert.match(String(rows.length), /^30[1-9]$/);
      // Newest first: by the time of the last change, then by id.
      const keyOf = (row: string[]) => `${row[6]} ${row[0]!.padStart(10, '0')}`;
      for (let index = 1; index < rows.length; index++)
        assert.ok(
          keyOf(rows[index - 1]!) >= keyOf(rows[index]!),
          `row ${index}: ${keyOf(rows[index - 1]!)} before ${keyOf(rows[index]!)}`,
        );
      for (const row of rows) {
        // Dates on the clinic's clock, not Unix seconds.
        assert.match(row[5]!, /^(\d{4}-\d\d-\d\d)?$/, row.join(' | '));
        assert.match(row[6]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+03:00$/);
        // Surname, first name and patronymic agree in gender.
        const [surname, name, patronymic] = row[2]!.split(' ');
        const female = /а$/.test(surname!);
        assert.equal(/(а|я)$/.test(name!), female, row[2]);
        if (patronymic) assert.match(patronymic, female ? /(овна|евна)$/ : /(ович|евич|ьевич)$/, row[2]);
      }
      const deals = await fetch(`${base}/__emulator/leads`);
      assert.match(deals.headers.get('content-type')!, /text\/html/);
      const dealRows = rowsOf(await deals.text());
      assert.equal(dealRows.length, 500);
      assert.match(
        dealRows[0]!.join(' | '),
        /Приём \d\d\.\d\d \d\d:\d\d — .* \| (Первичные|Повторные) пациенты → \S/,
      );
      assert.match(dealRows[0]![5]!, /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
      const json = (await (await fetch(`${base}/__emulator/leads?format=json`)).json()) as unknown[];
      assert.ok(json.length >= 601);
      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 0);
      assert.doesNotMatch(demo.output(), /has stopped/);
      // The temporary state folder the demo made is gone with it.
      const stateFolder = /^state folder: +(\S+) \(removed when the demo ends\)$/m.exec(stdout)![1]!;
      assert.equal(existsSync(stateFolder), false, stateFolder);
    } finally {
      demo.child.kill('SIGKILL');
    }
  });
});
