import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { OAuthEndpoint } from '../../src/amocrm/oauth.ts';
import { TokenStore } from '../../src/amocrm/token-store.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { registerSecret } from '../../src/logging/redact.ts';
import { fullRow } from '../fixtures/patient-rows.ts';
import { amoConfig, fastTuning, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { MemorySource, T0 } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';

const PERSONAL = [
  'Surname',
  'Name',
  'Patronymic',
  'MobilePhone',
  'Phone',
  'Email',
  'Passport',
  'SNILS',
  'INN',
  'Address',
  'Comment',
];

/** Ten patients with personal values of their own, every one recognisable in a log. */
function fixture() {
  return Array.from({ length: 10 }, (_, index) => ({
    ...fullRow,
    PatientId: 90_000 + index,
    Surname: `Фамилияутечки${index}`,
    Name: `Имяутечки${index}`,
    Patronymic: `Отчествоутечки${index}`,
    MobilePhone: `8 (916) 555-10-${String(index).padStart(2, '0')}`,
    Phone: `+7 343 777-20-${String(index).padStart(2, '0')}`,
    Email: `leak.check.${index}@example.ru`,
    Passport: `6599 77700${index}`,
    SNILS: `999-888-77${index} 66`,
    INN: `66990000111${index}`,
    Address: `ул. Утечная, д. ${index}0${index}`,
    Comment: `Секретный диагноз ${index}`,
    ChangedAt: T0,
  }));
}

function needles(rows: ReturnType<typeof fixture>): string[] {
  const found = new Set<string>();
  for (const row of rows) {
    for (const column of PERSONAL) {
      const value = String((row as Record<string, unknown>)[column]);
      found.add(value);
      const digits = value.replace(/\D/g, '');
      if (column.includes('Phone')) {
        found.add(digits.slice(1));
        found.add(`+7${digits.slice(1)}`);
      }
    }
  }
  return [...found];
}

describe('personal data and secrets never reach the logs', () => {
  it('a full sync at debug level and failing syncs (refusals, 401s, SQL errors) log no personal value or secret', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'trace',
      format: 'json',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const emulator = await startEmulator({ redirectUri: 'http://localhost:8080/callback' });
    const databasePassword = 'Db-Secret-Passw0rd!';
    registerSecret(databasePassword);
    try {
      const stateDir = tempDir();
      const client = createAmoClient(amoConfig(emulator), stateDir, logger, fastTuning(emulator));
      const tokens = await new OAuthEndpoint(client.http, {
        clientId: emulator.options.clientId,
        clientSecret: emulator.options.clientSecret,
        redirectUri: emulator.options.redirectUri,
      }).exchangeCode(emulator.issueCode());
      new TokenStore(stateDir).write(tokens);
      const rows = fixture();
      const source = new MemorySource(rows);
      const stack = await syncStack(emulator, source, { client, stateDir });

      // 1. A full sync, with a token refresh in the middle of it.
      emulator.expireAccessTokens();
      const full = await stack.run({ kind: 'deep' }, {}, logger);
      assert.equal(full.outcome, 'ok');

      // 2. amoCRM refuses items (validation errors) for changed patients.
      const mapper = stack.mapper;
      stack.mapper = ((row) => {
        const outcome = mapper(row);
        if (outcome.ok)
          outcome.contact.document.fields.find((f) => f.key === 'sms_rejection')!.value = 'refuse me';
        if (outcome.ok) outcome.contact.hash = `changed-${outcome.contact.hash}`;
        return outcome;
      }) as typeof mapper;
      const refused = await stack.run({ kind: 'deep' }, {}, logger);
      assert.equal(refused.updated, 10, 'written without the refused value');
      assert.equal(stack.store.fieldRefusalCount(), 10);
      stack.mapper = mapper;

      // 3. The SQL source drops the connection mid-stream.
      source.failAfter = 3;
      const sqlFailure = await stack.run({ kind: 'deep' }, {}, logger);
      assert.equal(sqlFailure.outcome, 'failed');

      // 4. 401s: the refresh token was used elsewhere, so the refresh is refused.
      const current = new TokenStore(stateDir).read()!;
      emulator.rotateRefreshToken(current.refreshToken);
      emulator.expireAccessTokens();
      source.touch(90_001, { City: 'Пермь' });
      const unauthorised = await stack.run({ kind: 'incremental' }, {}, logger);
      assert.equal(unauthorised.outcome, 'failed');
      assert.match(unauthorised.error!.message, /run `ident-sync auth`/);

      const text = lines.join('');
      assert.ok(lines.length > 20, `only ${lines.length} log lines`);
      for (const needle of needles(rows))
        assert.ok(!text.includes(needle), `personal value leaked: ${needle}`);
      const secrets = [
        tokens.accessToken,
        tokens.refreshToken,
        current.accessToken,
        current.refreshToken,
        emulator.options.clientSecret,
        databasePassword,
      ];
      for (const secret of secrets) assert.ok(!text.includes(secret), 'a secret leaked');
      // Patients are named by IDENT id.
      assert.match(text, /"patientId":"9000\d"/);
    } finally {
      await emulator.stop();
    }
  });
});
