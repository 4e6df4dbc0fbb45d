import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { consoleToken, isLoopback, TOKEN_FILE } from '../../src/console/auth.ts';
import { maskFullName, maskName } from '../../src/console/mask.ts';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { consoleDaemon, contactPhones, REFUSED_PATIENT, setMobileOption } from './fixture.ts';

/** A browser-like visit: the page (with its session cookie and CSRF token), then a form POST. */
async function visit(url: string) {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  const html = await response.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const origin = new URL(url).origin;
  return {
    html,
    post: (fields: Record<string, string>, headers: Record<string, string> = { origin }) =>
      fetch(`${origin}/console/action`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ csrf, ...fields }).toString(),
      }),
    page: async () => (await fetch(url, { headers: { cookie } })).text(),
  };
}

describe('the console', () => {
  it('masks names to the surname’s first letter and the first initial', () => {
    assert.equal(maskFullName('Иванова М. П.'), 'И******* М.');
    assert.equal(maskName('Иванова', 'Мария'), 'И******* М.');
    assert.equal(maskName('Ли', undefined), 'Л*******', 'the length is not told');
    assert.equal(maskName('', ''), undefined);
  });

  it('asks for a token off loopback: CONSOLE_TOKEN, or one made once in the state folder (0600)', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]']) assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'clinic-server']) assert.ok(!isLoopback(host), host);
    const stateDir = tempDir();
    assert.equal(consoleToken({ host: '127.0.0.1', setting: undefined, stateDir }), undefined);
    const made = consoleToken({ host: '0.0.0.0', setting: undefined, stateDir })!;
    assert.equal(made.from, 'file');
    assert.ok(made.token.length >= 24);
    assert.equal(statSync(join(stateDir, TOKEN_FILE)).mode & 0o777, 0o600);
    assert.equal(consoleToken({ host: '0.0.0.0', setting: undefined, stateDir })!.token, made.token, 'kept');
    assert.equal(consoleToken({ host: '0.0.0.0', setting: 'x'.repeat(20), stateDir })!.from, 'setting');
  });

  it('an old state folder gains the run columns and its runs read as before', () => {
    const stateDir = tempDir();
    const old = new DatabaseSync(join(stateDir, 'state.sqlite'));
    old.exec(`CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, started_at TEXT NOT NULL,
      ended_at TEXT, outcome TEXT NOT NULL, dry_run INTEGER NOT NULL DEFAULT 0, read INTEGER NOT NULL DEFAULT 0,
      unchanged INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,
      linked INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0, error TEXT);
      INSERT INTO runs (kind, started_at, ended_at, outcome, read, created) VALUES ('deep', '2026-11-01T08:00:00.000Z', '2026-11-01T08:01:00.000Z', 'ok', 7, 7);`);
    old.close();
    const store = new StateStore(stateDir);
    const [before] = store.lastRuns(1);
    assert.equal(before!.read, 7);
    assert.equal(before!.errorKind, null);
    assert.equal(before!.deals, null);
    const id = store.startRun('incremental', false);
    store.finishRun(
      id,
      'failed',
      { read: 1, unchanged: 0, created: 0, updated: 0, linked: 0, repaired: 0, failed: 1, requests: 2 },
      'IDENT did not answer',
      new Date(),
      'ident-unreachable',
    );
    store.noteRun(id, { deals: { outcome: 'ok', read: 4, written: 3, failed: 0 } });
    const [run] = store.lastRuns(1);
    assert.equal(run!.errorKind, 'ident-unreachable');
    assert.deepEqual(run!.deals, { outcome: 'ok', read: 4, written: 3, failed: 0 });
    store.close();
  });

  it('shows a refused value with its reason after one run; "sync again" lands it once the fault is lifted; a cross-site POST is refused', async () => {
    const stack = await consoleDaemon();
    try {
      let console = await visit(stack.url);
      assert.match(console.html, /contacts linked<\/div>|data-label="contacts linked"><span>3</);
      assert.match(console.html, /<td>1<\/td><td>initial<\/td>/, 'the first run is in the table');

      // amoCRM loses the mobile option and IDENT gets a new mobile: its write is refused on PHONE.
      setMobileOption(stack.emulator, false);
      stack.source.touch(REFUSED_PATIENT, { MobilePhone: '89160000777' });
      let response = await console.post({ action: 'resync-patient', id: REFUSED_PATIENT });
      assert.equal(response.status, 303);
      await stack.waitForRuns(2);
      let page = await console.page();
      const row = new RegExp(`<tr class="refused" data-id="${REFUSED_PATIENT}">.*?</tr>`).exec(page)?.[0];
      assert.ok(row, 'the refusal is listed');
      assert.match(row, /И\*\*\*\*\*\*\* М\./, 'with the masked name');
      assert.match(row, /amoCRM refused the value of PHONE: NotSupportedChoice/);
      assert.match(row, new RegExp(`/contacts/detail/${stack.contactOf(REFUSED_PATIENT)}`));
      assert.doesNotMatch(page, /916000|Иванова|Мария/, 'no phone and no whole name on the page');
      assert.deepEqual(contactPhones(stack.emulator, stack.contactOf(REFUSED_PATIENT)), ['+79160000501']);

      // A POST from another site, with the session's own cookie and token, changes nothing.
      response = await console.post({ action: 'retry-failed' }, { origin: 'http://evil.example' });
      assert.equal(response.status, 403);
      response = await console.post(
        { action: 'retry-failed' },
        { origin: new URL(stack.url).origin, 'sec-fetch-site': 'cross-site' },
      );
      assert.equal(response.status, 403);
      assert.equal(stack.store.getMeta('console_queue'), undefined, 'nothing queued');

      setMobileOption(stack.emulator, true);
      console = await visit(stack.url);
      response = await console.post({ action: 'resync-patient', id: REFUSED_PATIENT });
      assert.equal(response.status, 303);
      await stack.waitForRuns(3);
      page = await console.page();
      assert.doesNotMatch(page, new RegExp(`data-id="${REFUSED_PATIENT}"`), 'the refusal is gone');
      assert.deepEqual(contactPhones(stack.emulator, stack.contactOf(REFUSED_PATIENT)), ['+79160000777']);
      assert.equal(stack.store.fieldRefusalCount(), 0);
    } finally {
      await stack.stop();
    }
  });
});
