import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';
import type { AlertMessage } from '../../src/alerts/message.ts';
import { telegramChannel } from '../../src/alerts/telegram.ts';
import { webhookChannel } from '../../src/alerts/webhook.ts';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { freePort, runCli } from '../helpers/cli.ts';
import { startReceiver } from './helpers.ts';
import { startFakeSmtp } from './smtp-fake.ts';

const MESSAGE: AlertMessage = {
  event: 'opened',
  rule: 'account-blocked',
  title: 'amoCRM blocks this integration (403)',
  reason: 'amoCRM blocked this integration or IP (HTTP 403); contact amoCRM support',
  source: 'clinic.amocrm.ru',
  openedAt: '2026-11-22 06:00 UTC',
};
const BOT_TOKEN = '123456:telegram-bot-secret';

describe('alert channels', () => {
  it('Telegram: sendMessage to the chat; a refused token is one sentence without the token', async () => {
    const telegram = await startReceiver((request) =>
      request.path.includes('/botwrong')
        ? { status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } }
        : { status: 200, body: { ok: true, result: {} } },
    );
    try {
      await telegramChannel({ botToken: BOT_TOKEN, chatId: '-100123', apiUrl: telegram.url }).send(MESSAGE);
      const [request] = telegram.received;
      assert.equal(request!.path, `/bot${BOT_TOKEN}/sendMessage`);
      const body = JSON.parse(request!.body) as { chat_id: string; text: string };
      assert.equal(body.chat_id, '-100123');
      assert.match(
        body.text,
        /^\[ident-sync clinic\.amocrm\.ru\] ALERT: amoCRM blocks this integration \(403\)\n/,
      );
      assert.match(body.text, /contact amoCRM support/);
      await assert.rejects(
        telegramChannel({ botToken: 'wrong-token-123', chatId: '-100123', apiUrl: telegram.url }).send(
          MESSAGE,
        ),
        (error: Error) => {
          assert.equal(
            error.message,
            'Telegram refused the bot token (HTTP 401: Unauthorized); check ALERT_TELEGRAM_BOT_TOKEN',
          );
          return true;
        },
      );
    } finally {
      await telegram.close();
    }
  });

  it('Telegram unreachable: one sentence naming the setting, without the token in the URL', async () => {
    const port = await freePort();
    await assert.rejects(
      telegramChannel({ botToken: BOT_TOKEN, chatId: '1', apiUrl: `http://127.0.0.1:${port}` }).send(MESSAGE),
      (error: Error) => {
        assert.match(
          error.message,
          /^Telegram could not be reached \(ECONNREFUSED\); check ALERT_TELEGRAM_API_URL/,
        );
        assert.doesNotMatch(error.message, /telegram-bot-secret/);
        return true;
      },
    );
  });

  it('SMTP: the message reaches the server with the login; a wrong password is one sentence', async () => {
    const smtp = await startFakeSmtp({ password: 'mail-password-1' });
    try {
      const settings = {
        host: '127.0.0.1',
        port: smtp.port,
        tls: 'none' as const,
        user: 'alerts@clinic.example',
        password: 'mail-password-1',
        from: 'alerts@clinic.example',
        to: ['admin@integrator.example', 'owner@clinic.example'],
      };
      await emailChannel(settings).send(MESSAGE);
      assert.equal(smtp.mails.length, 1);
      const [mail] = smtp.mails;
      assert.equal(mail!.auth, 'alerts@clinic.example');
      assert.equal(mail!.from, 'alerts@clinic.example');
      assert.deepEqual(mail!.to, ['admin@integrator.example', 'owner@clinic.example']);
      assert.match(
        mail!.data,
        /^Subject: \[ident-sync clinic\.amocrm\.ru\] ALERT: amoCRM blocks this\n integration \(403\)$/m,
      );
      assert.match(mail!.data, /contact amoCRM support/);
      await assert.rejects(emailChannel({ ...settings, password: 'wrong' }).send(MESSAGE), (error: Error) => {
        assert.equal(
          error.message,
          'the mail server 127.0.0.1 refused the login (SMTP 535); check ALERT_SMTP_USER and ALERT_SMTP_PASSWORD',
        );
        return true;
      });
      assert.equal(smtp.mails.length, 1);
    } finally {
      await smtp.close();
    }
  });

  it('webhook: a JSON POST with the secret header; an error status is one sentence', async () => {
    const hook = await startReceiver((request) => ({ status: request.path === '/down' ? 503 : 204 }));
    try {
      await webhookChannel({ url: `${hook.url}/in`, secret: 'hook-secret-42', secretHeader: 'X-Token' }).send(
        MESSAGE,
      );
      const [request] = hook.received;
      assert.equal(request!.headers['x-token'], 'hook-secret-42');
      assert.equal(request!.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(request!.body), { app: 'ident-sync', ...MESSAGE });
      await assert.rejects(
        webhookChannel({ url: `${hook.url}/down`, secret: undefined, secretHeader: 'X-Token' }).send(MESSAGE),
        /^DeliveryError: the webhook at 127\.0\.0\.1:\d+ answered HTTP 503; check ALERT_WEBHOOK_URL$/,
      );
    } finally {
      await hook.close();
    }
  });
});

describe('ident-sync alert --test', () => {
  it('sends a test message to each channel and says per channel sent or why not', async () => {
    const hook = await startReceiver();
    const telegram = await startReceiver(() => ({
      status: 401,
      body: { ok: false, description: 'Unauthorized' },
    }));
    try {
      const run = await runCli(['alert', '--test'], {
        ALERT_WEBHOOK_URL: `${hook.url}/hook`,
        ALERT_TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        ALERT_TELEGRAM_CHAT_ID: '-100123',
        ALERT_TELEGRAM_API_URL: telegram.url,
      });
      assert.equal(
        run.stdout,
        'telegram: not sent: Telegram refused the bot token (HTTP 401: Unauthorized); check ALERT_TELEGRAM_BOT_TOKEN\nwebhook: sent\n',
      );
      assert.equal(run.code, 1);
      assert.equal(hook.received.length, 1);
      assert.equal((JSON.parse(hook.received[0]!.body) as { event: string }).event, 'test');
      assert.doesNotMatch(run.stdout + run.stderr, /telegram-bot-secret/);
    } finally {
      await hook.close();
      await telegram.close();
    }
  });

  it('without --test lists the incidents and what is not yet delivered', async () => {
    const stateDir = tempDir('alerts-cli-');
    const store = new StateStore(stateDir);
    store.incidents.start(
      'account-blocked',
      'amoCRM blocked this integration (HTTP 403)',
      ['webhook'],
      new Date(Date.UTC(2026, 10, 22, 6)),
    );
    store.close();
    const run = await runCli(['alert'], { STATE_DIR: stateDir });
    assert.equal(run.code, 0);
    assert.equal(
      run.stdout,
      'account-blocked  opened 2026-11-22T06:00:00.000Z  OPEN  (not yet delivered to webhook)\n  amoCRM blocked this integration (HTTP 403)\n',
    );
  });

  it('with no channel set, says how to set one (exit 2)', async () => {
    const run = await runCli(['alert', '--test'], {});
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^error: no alert channel is set; set ALERT_TELEGRAM_BOT_TOKEN/);
  });

  it('half a channel is a configuration error naming the missing setting', async () => {
    const run = await runCli(['alert', '--test'], { ALERT_TELEGRAM_BOT_TOKEN: BOT_TOKEN });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^config error: ALERT_TELEGRAM_CHAT_ID: expected the chat the bot writes to/m);
    assert.doesNotMatch(run.stderr, /telegram-bot-secret/);
  });
});
