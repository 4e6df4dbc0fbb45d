import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/logging/logger.ts';
import { Scheduler } from '../../src/daemon/schedule.ts';
import { streamDeepHistory, streamKinds } from '../../src/daemon/stream-history.ts';
import { StateStore } from '../../src/state/store.ts';
import { syncConfig } from '../helpers/sync-config.ts';

/** Moscow wall time → the instant. */
const moscow = (wall: string) => new Date(`${wall}+03:00`);

describe('deep-sync catch-up per stream (issue 19, item 7)', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stream-history-'));
    store = new StateStore(dir);
    store.setCheckpoint({ at: moscow('2026-11-22T08:00:00') });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a deal phase that failed after the contacts’ deep sync went well is caught up half an hour on, by a deep deal run alone', async () => {
    // 08:00: the contacts read everything; the deal phase of the same deep sync failed.
    store.setMeta('full_read_at', moscow('2026-11-22T08:00:05').toISOString());
    store.startRun('deep', false, moscow('2026-11-22T08:00:00'));
    store.deals.setFullReadAt(moscow('2026-11-21T20:00:10'));
    store.deals.setDeepAttemptAt(moscow('2026-11-22T08:01:00'));
    const sync = syncConfig({ receptions: true });

    const ticks = async (at: string) => {
      const started: string[] = [];
      const scheduler = new Scheduler(
        async (kind) => void started.push(kind),
        silentLogger(),
        () => ({ start() {}, destroy() {}, getNextRun: () => null }),
        {
          clock: {
            now: () => moscow(at).getTime(),
            monotonic: () => 0,
            sleep: () => new Promise(() => undefined),
          },
          history: streamDeepHistory(store, true),
        },
      );
      scheduler.start(sync);
      await scheduler.tick('incremental');
      await scheduler.stop();
      return started;
    };
    assert.deepEqual(await ticks('2026-11-22T08:10:00'), ['incremental'], 'not retried on every tick');
    assert.deepEqual(await ticks('2026-11-22T08:40:00'), ['deep'], 'owed: the deals were not read in full');
    assert.deepEqual(streamKinds('deep', store, sync, moscow('2026-11-22T08:40:00')), {
      contacts: 'incremental',
      deals: 'deep',
    });
    // Once the deal phase has read everything, nothing is owed; a slot's own deep tick reads both.
    store.deals.setFullReadAt(moscow('2026-11-22T08:40:30'));
    assert.deepEqual(await ticks('2026-11-22T08:50:00'), ['incremental']);
    assert.deepEqual(streamKinds('deep', store, sync, moscow('2026-11-22T20:00:00')), {
      contacts: 'deep',
      deals: 'deep',
    });
    // Without receptions only the contacts count.
    assert.equal(
      streamDeepHistory(store, false).lastSuccess()?.toISOString(),
      moscow('2026-11-22T08:00:05').toISOString(),
    );
  });
});
