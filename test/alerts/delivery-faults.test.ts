import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as netServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { webhookChannel } from '../../src/alerts/webhook.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel } from './helpers.ts';

const MINUTE = 60_000;
const listen = (server: Server | ReturnType<typeof netServer>, port: number) =>
  new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));

interface Hit {
  method: string;
  path: string;
  headers: Record<string, unknown>;
  body: string;
}
function receiver(handler: (hit: Hit, res: import('node:http').ServerResponse) => void) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const hit = { method: req.method!, path: req.url!, headers: req.headers, body };
      hits.push(hit);
      handler(hit, res);
    });
  });
  return { server, hits };
}

describe('webhook redirects', () => {
  it('a 302 from the webhook (e.g. http->https, a moved endpoint) must not count as delivered', async () => {
    const target = receiver((_hit, res) => res.writeHead(200).end('<html>login</html>'));
    const hook = receiver((_hit, res) =>
      res.writeHead(302, { location: 'http://127.0.0.1:45502/new' }).end(),
    );
    await listen(target.server, 45502);
    await listen(hook.server, 45501);
    try {
      const channel = webhookChannel({
        url: 'http://127.0.0.1:45501/hook',
        secret: 'hook-secret-0123456789',
        secretHeader: 'x-alert-secret',
      } as never);
      let threw = false;
      await channel
        .send({ event: 'opened', rule: 'failed-runs', title: 't', reason: 'r', source: 's' })
        .catch(() => (threw = true));
      const posted = target.hits.filter((h) => h.method === 'POST' && h.body.includes('failed-runs'));
      // Either the redirect is refused (threw: sent again later) or the alert really reached someone.
      assert.ok(
        threw || posted.length === 1,
        `send() resolved (counted delivered) but the target only saw: ${JSON.stringify(target.hits.map((h) => `${h.method} ${h.path} body=${h.body.length}`))}`,
      );
    } finally {
      target.server.closeAllConnections();
      hook.server.closeAllConnections();
      target.server.close();
      hook.server.close();
    }
  });

  it('a 307 to another origin must not carry the webhook secret there', async () => {
    const other = receiver((_hit, res) => res.writeHead(200).end('{}'));
    const hook = receiver((_hit, res) =>
      res.writeHead(307, { location: 'http://127.0.0.1:45504/steal' }).end(),
    );
    await listen(other.server, 45504);
    await listen(hook.server, 45503);
    try {
      const channel = webhookChannel({
        url: 'http://127.0.0.1:45503/hook',
        secret: 'hook-secret-0123456789',
        secretHeader: 'x-alert-secret',
      } as never);
      await channel
        .send({ event: 'opened', rule: 'failed-runs', title: 't', reason: 'r', source: 's' })
        .catch(() => undefined);
      const leaked = other.hits.filter((h) => h.headers['x-alert-secret'] === 'hook-secret-0123456789');
      assert.equal(leaked.length, 0, 'the secret header reached another origin');
    } finally {
      other.server.closeAllConnections();
      hook.server.closeAllConnections();
      other.server.close();
      hook.server.close();
    }
  });
});

describe('a long-lived token with an odd exp', () => {
  const jwtWith = (payload: unknown) =>
    `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.x`;

  for (const exp of [1e13, 1e300]) {
    it(`exp=${exp}: the other rules still fire`, async () => {
      const stateDir = tempDir('alerts-jwt-');
      const store = new StateStore(stateDir);
      const clock = new VirtualClock();
      const channel = new RecordingChannel();
      const monitor = new AlertMonitor({
        config: {
          alerts: { rules: onlyRules({ failedRuns: 1, tokenDays: 7 }), channels: {} },
          stateDir,
          amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: jwtWith({ exp }) } as never,
        },
        logger: silentLogger(),
        store,
        channels: [channel],
        clock,
      });
      recordRun(store, clock.now() - 5 * MINUTE, 'failed', 'other');
      await monitor.evaluate();
      await monitor.stop();
      store.close();
      assert.deepEqual(
        channel.sent.map((m) => `${m.event} ${m.rule}`),
        ['opened failed-runs'],
      );
    });
  }
});

describe('an SMTP server that trickles', () => {
  it('a mail server sending a continuation line every few seconds does not hold the monitor forever', async () => {
    const sockets = new Set<Socket>();
    const timers: NodeJS.Timeout[] = [];
    const server = netServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      // A greeting that never ends: "220-" lines, each well within the 15 s idle timeout.
      socket.write('220-slow.example ESMTP\r\n');
      timers.push(setInterval(() => socket.write('220-still here\r\n'), 2_000));
    });
    await listen(server, 45505);
    const channel = emailChannel({
      host: '127.0.0.1',
      port: 45505,
      tls: 'none',
      from: 'sync@clinic.test',
      to: 'ops@clinic.test',
    } as never);
    const started = Date.now();
    const outcome = await Promise.race([
      channel.send({ event: 'test', rule: 'test', title: 't', reason: 'r', source: 's' }).then(
        () => 'sent',
        (error: Error) => `failed: ${error.message}`,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still hanging'), 45_000).unref()),
    ]);
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    server.close();
    assert.notEqual(outcome, 'still hanging', `send() still pending after ${Date.now() - started} ms`);
  });
});
