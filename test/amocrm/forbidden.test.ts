import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AmoCrmError, forbiddenCause } from '../../src/amocrm/errors.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { longLivedClient, startEmulator } from '../helpers/amocrm.ts';

async function withEmulator(run: (emulator: AmoCrmEmulator) => Promise<void>) {
  const emulator = await startEmulator();
  try {
    await run(emulator);
  } finally {
    await emulator.stop();
  }
}

/** Issue 18, hole 10: a 403 is a block, an IP whitelist or missing rights, and the message says which. */
describe('hole 10: every 403 says its cause', () => {
  it('an IP not on the whitelist (code 113) names the whitelist and stops every request', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      emulator.strict.forbidden = 'ip';
      await assert.rejects(client.account(), (error: AmoCrmError) => {
        assert.equal(error.kind, 'blocked');
        assert.match(error.message, /IP address .*code 113.*whitelist/);
        assert.match(error.message, /admin must add this IP/);
        assert.doesNotMatch(error.message, /too many requests/);
        return true;
      });
      const sent = emulator.requests.length;
      emulator.strict.forbidden = 'none';
      await assert.rejects(client.contacts.getByIds([1]), /IP address/);
      assert.equal(emulator.requests.length, sent, 'nothing more was sent');
    });
  });

  it('missing rights (a non-admin creating fields) names the rights and leaves other requests alone', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      emulator.strict.forbidden = 'rights';
      await assert.rejects(
        client.fields.create([{ name: 'Новое поле', type: 'text' }]),
        (error: AmoCrmError) => {
          assert.equal(error.kind, 'forbidden');
          assert.match(error.message, /lacks the rights .*admin/);
          assert.doesNotMatch(error.message, /blocked|support/);
          return true;
        },
      );
      const account = await client.account();
      assert.equal(account.subdomain, 'emulator', 'the client is not blocked');
    });
  });

  it('the rate-limit block (an HTML page) is still the block: contact support', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      emulator.blocked = true;
      await assert.rejects(client.account(), (error: AmoCrmError) => {
        assert.equal(error.kind, 'blocked');
        assert.match(error.message, /too many requests; contact amoCRM support/);
        return true;
      });
    });
  });

  it('reads the cause from the body where amoCRM says it', () => {
    assert.equal(forbiddenCause('<html><h1>403 Forbidden</h1>nginx</html>'), 'block');
    assert.equal(forbiddenCause(undefined), 'block');
    assert.equal(forbiddenCause({ response: { error_code: 113, error: 'x' } }), 'ip');
    assert.equal(forbiddenCause({ title: 'Forbidden', status: 403, code: '113' }), 'ip');
    assert.equal(forbiddenCause({ detail: 'Доступ к данному аккаунту запрещён с Вашего IP адреса' }), 'ip');
    assert.equal(
      forbiddenCause({ title: 'Forbidden', detail: 'Недостаточно прав. Доступ запрещен.' }),
      'rights',
    );
    assert.equal(forbiddenCause({ response: { error_code: '244', error: 'нет прав' } }), 'rights');
    assert.equal(forbiddenCause({ title: 'Forbidden', detail: 'Account is blocked' }), 'block');
    assert.equal(forbiddenCause({ title: 'Forbidden' }, 'POST', '/api/v4/leads/pipelines'), 'rights');
    assert.equal(forbiddenCause({ title: 'Forbidden' }, 'GET', '/api/v4/contacts'), 'block');
  });
});
