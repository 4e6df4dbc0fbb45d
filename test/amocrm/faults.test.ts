import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AmoCrmError } from '../../src/amocrm/errors.ts';
import { ARRIVAL_MARGIN_MS, RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { longLivedClient, startEmulator } from '../helpers/amocrm.ts';

async function withEmulator(run: (emulator: AmoCrmEmulator) => Promise<void>, options = {}) {
  const emulator = await startEmulator({ seed: 7, ...options });
  try {
    await run(emulator);
  } finally {
    await emulator.stop();
  }
  // Not the arrivals per second: they depend on the host's load (test/sim judges the pace in virtual time).
  assert.equal(emulator.blocked, false);
}

describe('amoCRM faults', () => {
  it('a 429 storm at default settings never reaches the 403 block', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      emulator.setFaults({ tooManyRate: 0.3 });
      const results = await Promise.all(Array.from({ length: 12 }, () => client.account()));
      assert.equal(results.length, 12);
      assert.ok(
        client.http.stats.requests429 >= 3,
        `only ${client.http.stats.requests429} 429s were injected`,
      );
      assert.equal(emulator.blocked, false);
      assert.equal(emulator.violations, 0);
    });
  });

  it('honours Retry-After and pauses every caller', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      emulator.setFaults({ tooManyRate: 1, retryAfterSeconds: 1 });
      const started = Date.now();
      const pending = client.account();
      await new Promise((resolve) => setTimeout(resolve, 100));
      emulator.setFaults({});
      await pending;
      const other = Date.now();
      assert.ok(other - started >= 950, `resumed after ${other - started} ms`);
    });
  });

  it('after a 403 no request is sent again', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      await client.account();
      emulator.blocked = true;
      await assert.rejects(client.account(), (error: AmoCrmError) => {
        assert.equal(error.kind, 'blocked');
        assert.match(error.message, /amoCRM blocked this integration or IP .*contact amoCRM support/);
        return true;
      });
      const sent = emulator.requests.length;
      emulator.unblock();
      await assert.rejects(client.contacts.getByIds([1]), /blocked/);
      await assert.rejects(client.fields.list(), /blocked/);
      assert.equal(emulator.requests.length, sent);
    });
  });

  it('a limit lower than ours on the server side slows us down before the block', async () => {
    // Another integration uses part of the account's budget: amoCRM answers 429 sooner than we expect.
    await withEmulator(
      async (emulator) => {
        const client = longLivedClient(emulator);
        await Promise.all(Array.from({ length: 30 }, () => client.account()));
        assert.equal(emulator.blocked, false);
        assert.ok(emulator.violations < emulator.options.blockAfterViolations);
      },
      { rateLimit: 4 },
    );
  });

  it('5xx answers and dropped connections are retried for reads and updates', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      const contact = emulator.seedContact({ name: 'Before' });
      emulator.setFaults({ serverErrorRate: 0.3, dropRate: 0.2 });
      for (let index = 0; index < 10; index++) await client.account();
      const result = await client.contacts.write('patch', [
        { requestId: 'u', body: { id: contact.id, name: 'After' } },
      ]);
      assert.equal(result.kind === 'stored' && result.ids.get('u'), contact.id);
      assert.equal(emulator.contacts.get(contact.id)!.name, 'After');
      assert.ok(client.http.stats.retries > 0);
    });
  });

  it('slow answers past the timeout are retried for reads', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator, { timeoutMs: 300 });
      emulator.setFaults({ slowRate: 0.5, slowMs: 600 });
      for (let index = 0; index < 6; index++) await client.account();
      assert.ok(client.http.stats.retries > 0);
    });
  });

  it('a create that timed out but landed is reported uncertain, not resent', async () => {
    await withEmulator(async (emulator) => {
      const identField = emulator.addField({ name: 'ID пациента IDENT', type: 'text' }).id;
      const client = longLivedClient(emulator, { timeoutMs: 300 });
      emulator.setFaults({ slowRate: 1, slowMs: 600 });
      const body = {
        name: 'Late',
        custom_fields_values: [{ field_id: identField, values: [{ value: '777' }] }],
      };
      const result = await client.contacts.write('post', [{ requestId: 'p777', body }]);
      assert.equal(result.kind, 'uncertain');
      emulator.setFaults({});
      assert.equal(emulator.contactsWithField(identField, '777').length, 1, 'the write landed');
      assert.equal(emulator.writeRequests().length, 1, 'the create was not sent twice');
    });
  });

  it('a 5xx answer to a create is uncertain too; the create is not resent', async () => {
    await withEmulator(async (emulator) => {
      const client = longLivedClient(emulator);
      emulator.setFaults({ serverErrorRate: 1 });
      const result = await client.contacts.write('post', [{ requestId: 'x', body: { name: 'X' } }]);
      assert.equal(result.kind, 'uncertain');
      assert.equal(emulator.writeRequests().length, 1);
    });
  });
});

describe('rate limiter', () => {
  it('refuses more than 7 per second', () => {
    assert.throws(() => new RateLimiter(8), /at most 7/);
    assert.throws(() => new RateLimiter(0), /at most 7/);
  });

  it('never starts more than the rate in any one-second window', async () => {
    let now = 0;
    const starts: number[] = [];
    const limiter = new RateLimiter(7, {
      now: () => now,
      monotonic: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    for (let index = 0; index < 100; index++) {
      await limiter.acquire();
      starts.push(now);
    }
    for (const start of starts) {
      const inWindow = starts.filter((other) => other >= start && other < start + 1000).length;
      assert.ok(inWindow <= 7, `${inWindow} starts in the second after ${start}`);
    }
    assert.ok(now < 100 * ((1000 + ARRIVAL_MARGIN_MS) / 7) + 200, 'and keeps the pace');
  });
});
