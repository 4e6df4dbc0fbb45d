import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { ContactsApi, UnorderedListingError } from '../../src/amocrm/contacts.ts';
import { AmoCrmError } from '../../src/amocrm/errors.ts';
import { TokenStore } from '../../src/amocrm/token-store.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { amoConfig, fastTuning, longLivedClient, oauthClient, startEmulator } from '../helpers/amocrm.ts';

describe('amoCRM client against the emulator', () => {
  let emulator: AmoCrmEmulator;
  let identField: number;

  before(async () => {
    emulator = await startEmulator({ accessTokenSeconds: 3600 });
    identField = emulator.addField({ name: 'ID пациента IDENT', type: 'text' }).id;
  });
  after(async () => {
    await emulator.stop();
    // Not the arrivals per second nor the 429s: on a busy machine they depend on the host's load
    // (test/sim judges the pace in virtual time, the bench measures it).
    assert.equal(emulator.blocked, false);
  });

  describe('OAuth', () => {
    it('exchanges a code and stores the pair owner-only', async () => {
      const { store, client } = await oauthClient(emulator);
      const stored = store.read()!;
      assert.equal(stored.baseUrl, emulator.baseUrl);
      assert.equal(statSync(store.path).mode & 0o777, 0o600);
      const account = await client.account();
      assert.equal(account.subdomain, 'emulator');
    });

    it('rotates: a refresh stores a new pair and kills the old refresh token', async () => {
      const { store, client } = await oauthClient(emulator);
      const first = store.read()!;
      emulator.expireAccessTokens();
      await client.account();
      const second = store.read()!;
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.throws(() => emulator.rotateRefreshToken(first.refreshToken), /unknown or used/);
    });

    it('20 concurrent requests on an expired token cause exactly one refresh', async () => {
      const { client } = await oauthClient(emulator);
      await client.account();
      emulator.expireAccessTokens();
      const before = emulator.tokenCalls.refresh_token;
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.account()));
      assert.equal(answers.length, 20);
      assert.equal(emulator.tokenCalls.refresh_token - before, 1);
    });

    it('adopts a pair another process refreshed instead of refreshing again', async () => {
      const { client, stateDir } = await oauthClient(emulator);
      await client.account();
      // A second process (e.g. `ident-sync test` next to the daemon) refreshes first.
      const other = createAmoClient(amoConfig(emulator), stateDir, silentLogger(), fastTuning(emulator));
      emulator.expireAccessTokens();
      await other.account();
      const before = emulator.tokenCalls.refresh_token;
      await client.account();
      assert.equal(emulator.tokenCalls.refresh_token, before, 'no second refresh');
    });

    it('a reused refresh token ends in one clear message, with no retry loop', async () => {
      const { client, store } = await oauthClient(emulator);
      emulator.rotateRefreshToken(store.read()!.refreshToken);
      emulator.expireAccessTokens();
      const before = emulator.requests.length;
      await assert.rejects(client.account(), (error: AmoCrmError) => {
        assert.equal(error.kind, 'auth');
        assert.match(
          error.message,
          /refused the refresh token \(it was already used or revoked\); run `ident-sync auth`/,
        );
        return true;
      });
      await assert.rejects(client.account(), /run `ident-sync auth`/);
      const sent = emulator.requests.slice(before).map((request) => request.path);
      assert.deepEqual(sent, ['/api/v4/account', '/oauth2/access_token']);
    });

    it('a dead long-lived token ends in one clear message', async () => {
      const client = longLivedClient(emulator);
      await client.account();
      emulator.revokeLongLivedTokens();
      const before = emulator.requests.length;
      await assert.rejects(client.account(), /refused the long-lived token .*AMOCRM_LONG_LIVED_TOKEN/);
      await assert.rejects(client.account(), /refused the long-lived token/);
      assert.equal(emulator.requests.length - before, 1);
    });

    it('wrong integration keys are named', async () => {
      const store = new TokenStore((await oauthClient(emulator)).stateDir);
      const client = createAmoClient(
        amoConfig(emulator, { clientSecret: 'wrong' }),
        store.path.replace(/\/[^/]+$/, ''),
        silentLogger(),
        fastTuning(emulator),
      );
      emulator.expireAccessTokens();
      await assert.rejects(client.account(), /check AMOCRM_CLIENT_ID and AMOCRM_CLIENT_SECRET/);
    });
  });

  describe('contacts', () => {
    it('a batch of 50 with one invalid item is refused as a whole, naming that item and its path', async () => {
      const client = longLivedClient(emulator);
      const items = Array.from({ length: 50 }, (_, index) => ({
        requestId: `r${index}`,
        body: {
          name: `Пациент ${index}`,
          custom_fields_values: [
            { field_id: identField, values: [{ value: index === 17 ? true : `batch-${index}` }] },
          ],
        },
      }));
      const before = emulator.contacts.size;
      const outcome = await client.contacts.write('post', items as never);
      assert.equal(outcome.kind, 'refused');
      assert.equal(emulator.contacts.size, before, 'nothing of a refused request is stored');
      const problems = outcome.kind === 'refused' ? outcome.problems : [];
      assert.deepEqual(
        problems.map((problem) => [problem.requestId, problem.path]),
        [['r17', 'custom_fields_values.0.values.0.value']],
      );
    });

    it('never sends more than 50 contacts in one request', async () => {
      const client = longLivedClient(emulator);
      const items = Array.from({ length: 51 }, (_, index) => ({
        requestId: `r${index}`,
        body: { name: 'X' },
      }));
      await assert.rejects(client.contacts.write('post', items), RangeError);
      assert.throws(() => new ContactsApi(client.http, 51), RangeError);
    });

    it('maps creates by request_id, and updates by contact id when the answer carries no request_id', async () => {
      const client = longLivedClient(emulator);
      const created = await client.contacts.write('post', [
        { requestId: 'b', body: { name: 'B' } },
        { requestId: 'a', body: { name: 'A' } },
      ]);
      assert.equal(created.kind, 'stored');
      const idA = created.kind === 'stored' ? created.ids.get('a')! : 0;
      assert.equal(emulator.contacts.get(idA)!.name, 'A');
      const updated = await client.contacts.write('patch', [
        { requestId: 'u', body: { id: idA, name: 'A2' } },
      ]);
      assert.equal(updated.kind === 'stored' && updated.ids.get('u'), idA);
      assert.equal(emulator.contacts.get(idA)!.name, 'A2');
      const answer = emulator.requests.at(-1)!;
      assert.equal(answer.method, 'PATCH');
    });

    it('reads contacts by id; a deleted one is simply absent, also where amoCRM ignores filter[id]', async () => {
      const fresh = await startEmulator();
      try {
        const client = longLivedClient(fresh);
        const kept = fresh.seedContact({ name: 'Kept' });
        const deleted = fresh.seedContact({ name: 'Deleted' });
        for (let index = 0; index < 5; index++) fresh.seedContact({ name: `Other ${index}` });
        fresh.deleteContact(deleted.id);
        assert.deepEqual(
          (await client.contacts.getByIds([kept.id, deleted.id])).map((c) => c.id),
          [kept.id],
        );
        fresh.strict.honourIdFilter = false;
        assert.deepEqual(
          (await client.contacts.getByIds([kept.id, deleted.id])).map((c) => c.id),
          [kept.id],
        );
        assert.deepEqual(await client.contacts.getByIds([999_999_999]), []);
      } finally {
        await fresh.stop();
      }
    });

    it('iterates across more than 250 contacts, page by page; an empty account is a 204', async () => {
      const fresh = await startEmulator();
      try {
        for (let index = 0; index < 301; index++) fresh.seedContact({ name: `C${index}` });
        const client = longLivedClient(fresh);
        const sizes: number[] = [];
        for await (const page of client.contacts.pages()) sizes.push(page.length);
        assert.deepEqual(sizes, [250, 51]);
        const empty = await startEmulator();
        const none: unknown[] = [];
        for await (const page of longLivedClient(empty).contacts.pages()) none.push(page);
        assert.deepEqual(none, []);
        await empty.stop();
      } finally {
        await fresh.stop();
      }
    });

    it('lists newest first, and notices when amoCRM ignores the order', async () => {
      const fresh = await startEmulator();
      try {
        for (let index = 0; index < 300; index++) fresh.seedContact({ name: `C${index}` });
        const client = longLivedClient(fresh);
        const ids: number[] = [];
        for await (const page of client.contacts.newestFirst('id', () => true))
          ids.push(...page.map((c) => c.id));
        assert.equal(ids.length, 250, 'one page was enough');
        assert.ok(ids.every((id, index) => index === 0 || id < ids[index - 1]!));
        fresh.strict.honourOrder = false;
        await assert.rejects(async () => {
          for await (const page of client.contacts.newestFirst('id', () => false)) void page;
        }, UnorderedListingError);
      } finally {
        await fresh.stop();
      }
    });
  });

  describe('custom fields', () => {
    it('lists the catalogue across pages', async () => {
      const paged = await startEmulator({ fieldPageSize: 2 });
      try {
        paged.addField({ name: 'X', type: 'text' });
        paged.addField({ name: 'Y', type: 'numeric' });
        const fields = await longLivedClient(paged).fields.list();
        assert.deepEqual(
          fields.map((field) => field.name),
          ['Должность', 'Телефон', 'Email', 'X', 'Y'],
        );
      } finally {
        await paged.stop();
      }
    });
  });
});
