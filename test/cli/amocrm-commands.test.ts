import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOKEN_FILE, TokenStore } from '../../src/amocrm/token-store.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { startEmulator, tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

describe('ident-sync auth and fields against the emulator', () => {
  let emulator: AmoCrmEmulator;
  let env: Record<string, string>;

  before(async () => {
    emulator = await startEmulator({ redirectUri: 'http://127.0.0.1:18080/callback' });
    env = {
      AMOCRM_BASE_URL: emulator.baseUrl,
      AMOCRM_CLIENT_ID: emulator.options.clientId,
      AMOCRM_CLIENT_SECRET: emulator.options.clientSecret,
      AMOCRM_REDIRECT_URI: emulator.options.redirectUri,
      STATE_DIR: tempDir(),
    };
  });
  after(async () => {
    await emulator.stop();
    // The pace itself is judged where time is virtual (test/sim) or measured (bench): here, on a
    // busy machine, a late process can land a request in a full second; it must never get blocked.
    assert.equal(emulator.blocked, false);
  });

  it('auth --code stores the tokens owner-only and names the account', async () => {
    const run = await runCli(['auth', '--code', emulator.issueCode()], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Authorised for the amoCRM account "Emulated clinic"/);
    const path = join(env.STATE_DIR!, TOKEN_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(new TokenStore(env.STATE_DIR!).read()!.baseUrl, emulator.baseUrl);
  });

  it('auth --code with a used code says what to do', async () => {
    const code = emulator.issueCode();
    assert.equal((await runCli(['auth', '--code', code], { ...env, STATE_DIR: tempDir() })).code, 0);
    const again = await runCli(['auth', '--code', code], { ...env, STATE_DIR: tempDir() });
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr.trim(),
      'error: amoCRM refused the authorization code (it was already used or is wrong); get a new code and run `ident-sync auth` again',
    );
  });

  /** `ident-sync auth` waiting for its callback, and the consent URL it printed. */
  async function startAuth(stateDir: string) {
    let consent: string | undefined;
    const running = runCli(
      ['auth', '--host', '127.0.0.1'],
      { ...env, STATE_DIR: stateDir },
      {
        onStdout: (text) => {
          consent ??= /^\s+(http\S+\/oauth\?\S+)$/m.exec(text)?.[1];
        },
      },
    );
    while (!consent) await new Promise((resolve) => setTimeout(resolve, 50));
    return { consent, running };
  }

  it('auth waits for the callback, refuses a wrong state, and stores the tokens from the right one', async () => {
    const stateDir = tempDir();
    const { consent, running } = await startAuth(stateDir);
    const forged = await fetch('http://127.0.0.1:18080/callback?code=stolen&state=not-ours');
    assert.equal(forged.status, 400);
    // The person opens the consent page; amoCRM redirects the browser back with code and state.
    const approval = await fetch(consent, { redirect: 'manual' });
    assert.equal(approval.status, 302);
    const callback = await fetch(approval.headers.get('location')!);
    assert.equal(callback.status, 200);
    const run = await running;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(new TokenStore(stateDir).read());
  });

  for (const [why, referer] of [
    ['a host that is not amoCRM', 'collector.example.net'],
    ['another amoCRM account than the configured one', 'other-clinic.amocrm.ru'],
  ] as const) {
    it(`auth refuses a callback naming ${why}, and sends the code and secret nowhere`, async () => {
      const stateDir = tempDir();
      const { consent, running } = await startAuth(stateDir);
      const grants = emulator.tokenCalls.authorization_code;
      const approval = await fetch(consent, { redirect: 'manual' });
      const location = new URL(approval.headers.get('location')!);
      location.searchParams.set('referer', referer);
      await fetch(location);
      const run = await running;
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /nothing was sent/);
      assert.equal(emulator.tokenCalls.authorization_code, grants, 'no code exchange anywhere');
      assert.equal(new TokenStore(stateDir).read(), undefined);
    });
  }

  it('refuses tokens issued for another account than the configured one', async () => {
    const { AMOCRM_BASE_URL: _configured, ...rest } = env;
    const run = await runCli(['fields'], { ...rest, AMOCRM_SUBDOMAIN: 'another-clinic' });
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /issued for 127\.0\.0\.1:\d+, but the configuration names another-clinic\.amocrm\.ru/,
    );
  });

  it('fields reports what is missing and exits 1; --create creates it once; then fields exits 0', async () => {
    const fieldsBefore = emulator.fields.size;
    const check = await runCli(['fields'], env);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /ID пациента IDENT\s+text\s+-\s+-\s+missing/);
    assert.match(check.stdout, /26 of 26 contact fields need attention/);

    const create = await runCli(['fields', '--create'], env);
    assert.equal(create.code, 0, create.stdout + create.stderr);
    assert.match(create.stdout, /created 26 contact field\(s\)/);
    assert.equal(emulator.fields.size - fieldsBefore, 26);
    const identField = [...emulator.fields.values()].find((field) => field.name === 'ID пациента IDENT')!;
    assert.equal(identField.is_api_only, true);
    const sex = [...emulator.fields.values()].find((field) => field.name === 'Пол')!;
    assert.deepEqual(
      sex.enums!.map((item) => item.value),
      ['Мужской', 'Женский', 'Не указан'],
    );

    const second = await runCli(['fields', '--create'], env);
    assert.equal(second.code, 0);
    assert.doesNotMatch(second.stdout, /created/);
    assert.equal(emulator.fields.size - fieldsBefore, 26);

    const final = await runCli(['fields', '--json'], env);
    assert.equal(final.code, 0);
    assert.equal(JSON.parse(final.stdout).ok, true);
  });

  it('fields --create adds missing select values and keeps the existing ones', async () => {
    const status = [...emulator.fields.values()].find((field) => field.name === 'Статус пациента')!;
    const kept = status.enums!.filter((item) => item.value !== 'Удален');
    status.enums = [...kept, { id: 999_999, value: 'VIP', sort: 100 }];
    const run = await runCli(['fields', '--create'], env);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /added to "Статус пациента": Удален/);
    const values = status.enums.map((item) => item.value);
    assert.deepEqual(values, ['Активный', 'Архивный', 'VIP', 'Удален']);
    assert.equal(status.enums.find((item) => item.value === 'Активный')!.id, kept[0]!.id);
  });

  it("fields warns when the account's time zone would show dates a day off", async () => {
    const elsewhere = await startEmulator({ timeZone: 'Asia/Vladivostok' });
    try {
      const token = 'zone-check-token';
      elsewhere.addLongLivedToken(token);
      const run = await runCli(['fields', '--json'], {
        AMOCRM_BASE_URL: elsewhere.baseUrl,
        AMOCRM_LONG_LIVED_TOKEN: token,
        STATE_DIR: tempDir(),
        TZ: 'Europe/Moscow',
      });
      const report = JSON.parse(run.stdout);
      assert.equal(report.accountTimeZone, 'Asia/Vladivostok');
      assert.match(report.timeZoneWarning, /Asia\/Vladivostok .* but TZ is Europe\/Moscow .* a day off/);
    } finally {
      await elsewhere.stop();
    }
  });

  it('with SYNC_RECEPTIONS, fields checks the deal fields, pipelines and stages; --create --pipelines makes them', async () => {
    const leadsAsked = () =>
      emulator.requests.filter((request) => request.path.startsWith('/api/v4/leads')).length;
    const before = leadsAsked();
    await runCli(['fields'], env);
    assert.equal(leadsAsked(), before, 'without SYNC_RECEPTIONS nothing about deals is asked');

    const deals = { ...env, SYNC_RECEPTIONS: 'true' };
    const check = await runCli(['fields'], deals);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /7 of 7 deal fields need attention/);
    assert.match(
      check.stdout,
      /"Первичные пациенты" not found; `ident-sync fields --create --pipelines` creates it/,
    );

    const fieldsOnly = await runCli(['fields', '--create'], deals);
    assert.equal(fieldsOnly.code, 1);
    assert.match(fieldsOnly.stdout, /created 7 deal field\(s\)/);
    assert.match(fieldsOnly.stdout, /pipelines are created only when asked/);
    assert.equal(emulator.deals.pipelines.size, 1, 'only the default pipeline');

    const create = await runCli(['fields', '--create', '--pipelines'], deals);
    assert.equal(create.code, 0, create.stdout + create.stderr);
    assert.match(create.stdout, /created pipeline\(s\): Первичные пациенты, Повторные пациенты/);
    const primary = [...emulator.deals.pipelines.values()].find(
      (pipeline) => pipeline.name === 'Первичные пациенты',
    )!;
    assert.deepEqual(
      primary.statuses.map((status) => status.name),
      [
        'Неразобранное',
        'Записан',
        'Не пришёл',
        'Пациент пришёл',
        'Успешно реализовано',
        'Закрыто и не реализовано',
      ],
    );
    const reception = [...emulator.deals.fields.values()].find((field) => field.name === 'ID приёма IDENT')!;
    assert.equal(reception.is_api_only, true);

    // A stage a person deleted comes back, before won and lost; nothing else is touched.
    primary.statuses = primary.statuses.filter((status) => status.name !== 'Пациент пришёл');
    const repair = await runCli(['fields', '--create', '--pipelines', '--json'], deals);
    assert.equal(repair.code, 0, repair.stdout);
    const report = JSON.parse(repair.stdout);
    assert.deepEqual(report.deals.pipelines.stagesAdded, [
      { pipeline: 'Первичные пациенты', stages: ['Пациент пришёл'] },
    ]);
    assert.equal(primary.statuses.at(-3)!.name, 'Пациент пришёл');
    assert.equal(emulator.deals.pipelines.size, 3);
  });

  it('fields needs no database settings, but does need amoCRM ones', async () => {
    const run = await runCli(['fields'], { STATE_DIR: tempDir() });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^config error: AMOCRM_SUBDOMAIN: expected the account name/m);
    assert.doesNotMatch(run.stderr, /DB_/);
    assert.doesNotMatch(run.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });
});
