import assert from 'node:assert/strict';
import { createServer as httpServer } from 'node:http';
import { describe, it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';
import { scrub } from '../../src/alerts/message.ts';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { telegramChannel } from '../../src/alerts/telegram.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import type { AlertChannel } from '../../src/alerts/channel.ts';
import type { AlertRulesConfig } from '../../src/config/config.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { onlyRules, recordRun, RecordingChannel } from './helpers.ts';
import { startFakeSmtp } from './smtp-fake.ts';

const MINUTE = 60_000;

function monitorOf(rules: Partial<AlertRulesConfig>, channels: AlertChannel[], clock = new VirtualClock()) {
  const stateDir = tempDir('alerts-mon-');
  const store = new StateStore(stateDir);
  const monitor = new AlertMonitor({
    config: {
      alerts: { rules: onlyRules(rules), channels: {} },
      stateDir,
      amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
    },
    logger: silentLogger(),
    store,
    channels,
    clock,
  });
  return { store, monitor, clock, stateDir };
}

describe('wall clock steps', () => {
  it('stepping the wall clock back does not announce a recovery of "no successful sync" while nothing succeeded', async () => {
    const channel = new RecordingChannel();
    const { store, monitor, clock } = monitorOf({ noSuccessMinutes: 60 }, [channel]);
    recordRun(store, clock.now() - 3 * 60 * MINUTE, 'ok');
    recordRun(store, clock.now() - 30 * MINUTE, 'failed', 'other');
    await monitor.evaluate();
    assert.deepEqual(
      channel.sent.map((m) => `${m.event} ${m.rule}`),
      ['opened no-success'],
    );
    // NTP fixes a clock that ran 12 h ahead; still no successful run.
    clock.stepWall(-12 * 60 * MINUTE);
    await monitor.evaluate();
    clock.stepWall(12 * 60 * MINUTE + MINUTE);
    await monitor.evaluate();
    await monitor.stop();
    store.close();
    assert.deepEqual(
      channel.sent.map((m) => `${m.event} ${m.rule}`),
      ['opened no-success'],
      'a recovery (and a second alert) for the same outage',
    );
  });
});

describe('personal data in the reason', () => {
  const samples = [
    'иванов@почта.рф',
    'petrov@mail.ru',
    '+7 (912) 345-67-89',
    '234-56-78',
    'Иванова Мария Петровна',
  ];
  for (const sample of samples)
    it(`scrub blanks ${sample}`, () => {
      const text = `amoCRM refused POST /api/v4/contacts with HTTP 400: Bad Request: value ${sample} is invalid`;
      assert.ok(!scrub(text).includes(sample), scrub(text));
    });
});

describe('channels that misbehave', () => {
  it('Telegram 429 (retry_after) then 500 then ok: exactly one message, sent after waits of 1 and 2 minutes', async () => {
    let calls = 0;
    const bodies: string[] = [];
    const server = httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        calls += 1;
        bodies.push(`${req.url} ${body}`);
        if (calls === 1)
          return res
            .writeHead(429, { 'content-type': 'application/json' })
            .end(
              '{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}',
            );
        if (calls === 2) return res.writeHead(500).end('oops');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"result":{}}');
      });
    });
    await new Promise<void>((resolve) => server.listen(45507, '127.0.0.1', resolve));
    const channel = telegramChannel({
      botToken: '123456:AAAA-secret-bot-token',
      chatId: '-100123',
      apiUrl: 'http://127.0.0.1:45507',
    } as never);
    const { store, monitor, clock } = monitorOf({ failedRuns: 1 }, [channel]);
    recordRun(store, clock.now() - MINUTE, 'failed', 'other');
    // Each failure doubles the wait before the next try (1, 2 minutes): tries at 0, 1 and 3 minutes.
    for (let i = 0; i < 5; i++) {
      await monitor.evaluate();
      await clock.advance(MINUTE);
    }
    await monitor.stop();
    store.close();
    server.closeAllConnections();
    server.close();
    assert.equal(calls, 3, bodies.join('\n'));
  });

  it('the monitor stops (daemon shutdown) within docker stop_grace_period (20 s) while a mail server trickles', async () => {
    const smtp = await startFakeSmtp({ trickle: true });
    const mail = emailChannel({
      host: '127.0.0.1',
      port: smtp.port,
      tls: 'none',
      from: 'a@clinic.test',
      to: 'b@clinic.test',
    } as never);
    const webhook = new RecordingChannel('webhook');
    const { store, monitor, clock } = monitorOf({ failedRuns: 1 }, [mail, webhook]);
    recordRun(store, clock.now() - MINUTE, 'failed', 'other');
    void monitor.evaluate();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const started = Date.now();
    const stopped = await Promise.race([
      monitor.stop().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
    ]);
    const took = Date.now() - started;
    await smtp.close();
    await monitor.stop().catch(() => undefined);
    store.close();
    assert.ok(
      stopped && took < 20_000,
      `stop() ${stopped ? `took ${took} ms` : 'still pending after 30 s'}; webhook got ${webhook.sent.length}`,
    );
  });
});
