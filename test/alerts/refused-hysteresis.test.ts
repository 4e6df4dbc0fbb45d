import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { telegramChannel } from '../../src/alerts/telegram.ts';
import { webhookChannel } from '../../src/alerts/webhook.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import type { AlertChannel } from '../../src/alerts/channel.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel } from './helpers.ts';

function setup(channels: AlertChannel[], rules = onlyRules({ refusedGrowth: 10 })) {
  const stateDir = tempDir('alerts-ref-');
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules, channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    },
    logger: silentLogger(),
    store,
    channels,
    clock,
  });
  const db = new DatabaseSync(join(stateDir, 'state.sqlite'));
  const setRefused = (n: number) => {
    db.exec('DELETE FROM field_refusals');
    const insert = db.prepare(
      'INSERT INTO field_refusals (patient_id, field_key, detail, hash, at, tried_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (let i = 0; i < n; i++)
      insert.run(
        String(1000 + i),
        'phone',
        'InvalidValue',
        'h',
        new Date().toISOString(),
        new Date().toISOString(),
      );
  };
  return { store, monitor, setRefused, db, clock };
}

describe('refused values', () => {
  it('one of ten new refusals fixed is not a recovery while nine new ones still stand', async () => {
    const channel = new RecordingChannel();
    const { monitor, setRefused, store, db } = setup([channel]);
    setRefused(0);
    await monitor.evaluate();
    setRefused(10);
    await monitor.evaluate();
    setRefused(9);
    await monitor.evaluate();
    await monitor.stop();
    db.close();
    store.close();
    assert.deepEqual(
      channel.sent.map((m) => `${m.event} ${m.rule}`),
      ['opened refused-growing'],
    );
  });

  it('refusals that come and go (0 <-> 10, five times) do not send ten messages', async () => {
    const channel = new RecordingChannel();
    const { monitor, setRefused, store, db } = setup([channel]);
    setRefused(0);
    await monitor.evaluate();
    for (let i = 0; i < 5; i++) {
      setRefused(10);
      await monitor.evaluate();
      setRefused(0);
      await monitor.evaluate();
    }
    await monitor.stop();
    db.close();
    store.close();
    assert.ok(channel.sent.length <= 2, `${channel.sent.length} messages`);
  });
});

describe('outbound network black-holed', () => {
  it('stop() within the 20 s grace while Telegram and the webhook never answer', async () => {
    const server = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(45509, '127.0.0.1', resolve));
    const channels = [
      telegramChannel({
        botToken: '123456:AAAA-secret',
        chatId: '1',
        apiUrl: 'http://127.0.0.1:45509',
      } as never),
      webhookChannel({ url: 'http://127.0.0.1:45509/hook', secret: undefined, secretHeader: 'x' } as never),
    ];
    const { monitor, store, db, clock } = setup(channels, onlyRules({ failedRuns: 1 }));
    recordRun(store, clock.now() - 60_000, 'failed', 'other');
    void monitor.evaluate();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    await monitor.stop();
    const took = Date.now() - started;
    server.closeAllConnections();
    server.close();
    db.close();
    store.close();
    assert.ok(took < 20_000, `stop() took ${took} ms`);
  });
});
