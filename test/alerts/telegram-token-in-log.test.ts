import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { telegramChannel } from '../../src/alerts/telegram.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun } from './helpers.ts';

const TOKEN = '123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';

it('a proxy that echoes the path in a long 404 description: no part of the bot token in the log', async () => {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ok: false,
          description: `The requested resource was not found on this proxy; check the path you asked for and try again: ${req.url}`,
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(45514, '127.0.0.1', resolve));
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    format: 'json',
    destination: new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    }) as never,
  });
  const stateDir = tempDir('alerts-tglog-');
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules({ failedRuns: 1 }), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://c.amocrm.ru' } as never,
    },
    logger,
    store,
    channels: [
      telegramChannel({ botToken: TOKEN, chatId: '-100123', apiUrl: 'http://127.0.0.1:45514' } as never),
    ],
    clock,
  });
  recordRun(store, clock.now() - 60_000, 'failed', 'other');
  await monitor.evaluate();
  await monitor.stop();
  store.close();
  server.close();
  const log = lines.join('');
  const secretPart = TOKEN.split(':')[1]!.slice(0, 8);
  assert.ok(!log.includes(secretPart), 'part of the bot token is in the log');
});
