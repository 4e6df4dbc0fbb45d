import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message.split('\n');
  }
  return [];
};

describe('alert settings', () => {
  it('defaults: every rule on, no channel', () => {
    const { alerts } = loadConfig({});
    assert.deepEqual(alerts, {
      rules: {
        failedRuns: 3,
        noSuccessMinutes: 60,
        tokenDays: 7,
        unreachableMinutes: 15,
        account: true,
        refusedGrowth: 10,
        checkMinutes: 1,
      },
      channels: {},
    });
  });

  it('each channel from its settings; the SMTP port follows the TLS mode', () => {
    const { alerts } = loadConfig({
      ALERT_TELEGRAM_BOT_TOKEN: '123:abc-secret',
      ALERT_TELEGRAM_CHAT_ID: '-1001234567890',
      ALERT_SMTP_HOST: 'smtp.example.ru',
      ALERT_SMTP_TLS: 'TLS',
      ALERT_EMAIL_FROM: 'sync@clinic.example',
      ALERT_EMAIL_TO: 'a@x.example, b@y.example',
      ALERT_WEBHOOK_URL: 'https://hooks.example/alerts/',
      ALERT_FAILED_RUNS: '0',
    });
    assert.equal(alerts.rules.failedRuns, 0);
    assert.deepEqual(alerts.channels.telegram, {
      botToken: '123:abc-secret',
      chatId: '-1001234567890',
      apiUrl: 'https://api.telegram.org',
    });
    assert.equal(alerts.channels.email?.port, 465);
    assert.equal(alerts.channels.email?.tls, 'tls');
    assert.deepEqual(alerts.channels.email?.to, ['a@x.example', 'b@y.example']);
    assert.equal(alerts.channels.webhook?.secretHeader, 'X-Alert-Secret');
  });

  it('a half-set channel names what is missing, without showing a secret', () => {
    const found = problems({
      ALERT_SMTP_HOST: 'smtp.example.ru',
      ALERT_SMTP_USER: 'sync',
      ALERT_WEBHOOK_SECRET: 'hook-secret-value',
      ALERT_TELEGRAM_CHAT_ID: 'not a chat',
    });
    assert.deepEqual(found, [
      'ALERT_TELEGRAM_CHAT_ID="not a chat": expected the numeric chat id (e.g. -1001234567890) or a channel name such as @clinic_alerts',
    ]);
    assert.deepEqual(
      problems({
        ALERT_SMTP_HOST: 'smtp.example.ru',
        ALERT_SMTP_USER: 'sync',
        ALERT_WEBHOOK_SECRET: 'hook-secret-value',
      }),
      [
        'ALERT_EMAIL_TO: expected one or more e-mail addresses, separated by commas',
        'ALERT_EMAIL_FROM: expected the sender address the mail server accepts',
        "ALERT_SMTP_PASSWORD: expected the password of ALERT_SMTP_USER's mailbox",
        'ALERT_WEBHOOK_URL: expected the address to POST alerts to, as ALERT_WEBHOOK_SECRET is set',
      ],
    );
    assert.deepEqual(problems({ ALERT_SMTP_TLS: 'ssl', ALERT_WEBHOOK_SECRET_HEADER: 'bad header' }), [
      'ALERT_SMTP_TLS="ssl": expected starttls (port 587), tls (port 465) or none (port 25, trusted network only)',
      'ALERT_WEBHOOK_SECRET_HEADER: expected an HTTP header name such as X-Alert-Secret',
    ]);
  });
});
