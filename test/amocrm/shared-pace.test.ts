import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACE_WINDOW_MS, RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { SharedPace } from '../../src/amocrm/shared-pace.ts';
import { withFileLock } from '../../src/support/file-lock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';
import { runSyncChild, syncChildEnv } from '../helpers/sync-child-process.ts';
import { preparedEmulator } from '../chaos/trial-kit.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { busiest } from '../helpers/windows.ts';

describe('processes sharing a state folder share one pace', () => {
  it('two limiters on one state folder keep one pace together', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const starts: number[] = [];
    const limiters = [0, 1].map(() => new RateLimiter(6, clock, new SharedPace(dir)));
    await clock.run(
      Promise.all(
        limiters.map(async (limiter) => {
          for (let index = 0; index < 15; index++) {
            await limiter.acquire();
            starts.push(clock.monotonic());
          }
        }),
      ),
    );
    // Paced at 6 together (12 if each kept its own pace), counted in virtual time.
    assert.ok(
      busiest(starts, PACE_WINDOW_MS) <= 6,
      `${busiest(starts, PACE_WINDOW_MS)} starts in one window`,
    );
  });

  // Arrivals on a real machine carry its scheduling jitter: the count per second at amoCRM's door is
  // measured by the bench (docs/proof.md), not asserted here; the pace itself is tested above in
  // virtual time. What must hold whatever the load: both commands finish, nobody is blocked.
  it('`ident-sync fields` next to a running sync shares its pace: both finish, the account is never blocked', async (t) => {
    const { emulator, token } = await preparedEmulator(71);
    try {
      const stateDir = tempDir();
      const sync = runSyncChild(syncChildEnv(emulator, token, stateDir, 1500));
      await new Promise((resolve) => setTimeout(resolve, 700));
      const env = { AMOCRM_BASE_URL: emulator.baseUrl, AMOCRM_LONG_LIVED_TOKEN: token, STATE_DIR: stateDir };
      const fields = await Promise.all([runCli(['fields'], env), runCli(['fields', '--json'], env)]);
      for (const run of fields) assert.equal(run.code, 0, run.stderr);
      assert.equal((await sync).code, 0);
      assert.equal(emulator.blocked, false);
      t.diagnostic(
        `most requests in any second at the emulator: ${emulator.maxRequestsInAnySecond}; 429s: ${emulator.violations}`,
      );
    } finally {
      await emulator.stop();
    }
  });
});

describe('the token-refresh lock', () => {
  it('is never taken from a live holder, however long its refresh takes', async () => {
    const path = join(tempDir(), 'refresh.lock');
    const order: string[] = [];
    const first = withFileLock(
      path,
      async () => {
        order.push('first in');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        order.push('first out');
      },
      { staleMs: 200 },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await withFileLock(path, async () => void order.push('second'), { staleMs: 200 });
    await first;
    assert.deepEqual(order, ['first in', 'first out', 'second']);
  });

  it('is taken over once a killed holder stops touching it', async () => {
    const path = join(tempDir(), 'refresh.lock');
    writeFileSync(path, '99999\n');
    const started = Date.now();
    await withFileLock(path, async () => undefined, { staleMs: 300 });
    assert.ok(Date.now() - started >= 250);
  });
});
