import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';

async function withEmulator(run: (emulator: AmoCrmEmulator) => Promise<void>) {
  const emulator = await startEmulator();
  try {
    await run(emulator);
  } finally {
    await emulator.stop();
  }
}

const idsAsked = (query: string) =>
  [...new URLSearchParams(query).entries()].filter(([key]) => key.startsWith('filter[id]')).length;

/** Issue 18, holes 7 and 8: lookups by id on accounts with and without API filtering. */
describe('lookups by id', () => {
  it('hole 7: with filter[id] ignored and 3000 contacts, 5 ids cost 1 + 5 requests, and the next client remembers', async () => {
    await withEmulator(async (emulator) => {
      emulator.strict.honourIdFilter = false;
      const seeded = Array.from({ length: 3000 }, (_, index) => emulator.seedContact({ name: `C${index}` }));
      const gone = seeded[2500]!.id;
      emulator.deleteContact(gone);
      const wanted = [seeded[10]!.id, seeded[1200]!.id, seeded[2999]!.id, gone, seeded[700]!.id];
      const stateDir = tempDir();
      const client = longLivedClient(emulator, {}, stateDir);
      const before = emulator.requests.length;
      const found = await client.contacts.getByIds(wanted);
      const sent = emulator.requests.slice(before);
      assert.deepEqual(
        found.map((contact) => contact.id).sort((a, b) => a - b),
        wanted.filter((id) => id !== gone).sort((a, b) => a - b),
      );
      assert.ok(sent.length <= 6, `${sent.length} requests for 5 ids`);
      assert.equal(
        sent.filter((request) => request.path === '/api/v4/contacts').length,
        1,
        'one listing page, then each id on its own',
      );
      const missing = sent.find((request) => request.path === `/api/v4/contacts/${gone}`);
      assert.equal(missing?.status, 204);

      // A later run (another client on the same state folder) goes straight to the ids.
      const again = longLivedClient(emulator, {}, stateDir);
      const mark = emulator.requests.length;
      assert.equal((await again.contacts.getByIds(wanted)).length, 4);
      assert.equal(emulator.requests.length - mark, 5);
      assert.ok(emulator.requests.slice(mark).every((request) => request.path !== '/api/v4/contacts'));
    });
  });

  it('hole 7: the account flag is_api_filter_enabled=false is enough to skip the filter; deals too', async () => {
    await withEmulator(async (emulator) => {
      emulator.strict.honourIdFilter = false;
      const contact = emulator.seedContact({ name: 'Owner' });
      const lead = emulator.deals.seed({ name: 'Deal', contactId: contact.id });
      const client = longLivedClient(emulator);
      await client.account();
      const mark = emulator.requests.length;
      const leads = await client.leads.getByIds([lead.id, 999_999_999]);
      assert.deepEqual(
        leads.map((one) => one.id),
        [lead.id],
      );
      const sent = emulator.requests.slice(mark);
      assert.deepEqual(
        sent.map((request) => [request.path, request.status]),
        [
          [`/api/v4/leads/${lead.id}`, 200],
          ['/api/v4/leads/999999999', 204],
        ],
      );
      assert.ok(sent[0]!.query.includes('with=contacts'));
    });
  });

  it('hole 8: at most 100 ids in one request', async () => {
    await withEmulator(async (emulator) => {
      const seeded = Array.from({ length: 250 }, (_, index) => emulator.seedContact({ name: `C${index}` }));
      const client = longLivedClient(emulator);
      const mark = emulator.requests.length;
      const found = await client.contacts.getByIds(seeded.map((contact) => contact.id));
      assert.equal(found.length, 250);
      const sent = emulator.requests.slice(mark);
      assert.deepEqual(
        sent.map((request) => idsAsked(request.query)),
        [100, 100, 50],
      );
      assert.ok(sent.every((request) => request.query.length < 4000));
    });
  });
});
