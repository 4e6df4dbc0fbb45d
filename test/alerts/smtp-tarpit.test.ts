import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel } from './helpers.ts';

/** A tarpitting mail server: it takes the message, then answers the final dot with "250-" lines every 2 s. */
async function tarpit(port: number) {
  const sockets = new Set<Socket>();
  const timers: NodeJS.Timeout[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buffer = '';
    let inData = false;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 tarpit ready');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            timers.push(setInterval(() => reply('250-still queueing'), 2_000));
          }
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'DATA') {
          inData = true;
          reply('354 go');
        } else if (verb === 'EHLO') reply('250 tarpit');
        else reply('250 ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return () => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    server.close();
  };
}

it('a tarpitting mail server does not silence the webhook and every later evaluation', async () => {
  const close = await tarpit(45512);
  const mail = emailChannel({
    host: '127.0.0.1',
    port: 45512,
    tls: 'none',
    from: 'a@clinic.test',
    to: 'b@clinic.test',
  } as never);
  const webhook = new RecordingChannel('webhook');
  const stateDir = tempDir('alerts-tarpit-');
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules({ failedRuns: 1 }), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    },
    logger: silentLogger(),
    store,
    // buildChannels' order: telegram, email, webhook
    channels: [mail, webhook],
    clock,
  });
  recordRun(store, clock.now() - 60_000, 'failed', 'other');
  void monitor.evaluate();
  // Three more "minutes" of timer ticks, each given 15 s of real time (the send timeout).
  for (let i = 0; i < 3; i++) {
    void monitor.evaluate();
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
  const seen = { webhook: webhook.sent.length, evaluations: monitor.evaluations };
  close();
  await monitor.stop();
  store.close();
  assert.deepEqual(seen, { webhook: 1, evaluations: 4 }, 'after 45 s');
});
