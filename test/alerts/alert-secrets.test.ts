import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { webhookChannel } from '../../src/alerts/webhook.ts';
import { runCli } from '../helpers/cli.ts';
import { startReceiver } from './helpers.ts';

const TOKEN = '123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';
const MESSAGE = { event: 'test', rule: 'test', title: 't', reason: 'r', source: 's' } as const;

describe('secrets in what the alert channels say', () => {
  it('`alert --test` behind a proxy that echoes the path prints no part of the bot token', async () => {
    const proxy = await startReceiver((request) => ({
      status: 404,
      body: {
        ok: false,
        description: `The requested resource was not found on this proxy; check the path: ${request.path}`,
      },
    }));
    try {
      const run = await runCli(['alert', '--test'], {
        ALERT_TELEGRAM_BOT_TOKEN: TOKEN,
        ALERT_TELEGRAM_CHAT_ID: '-100123',
        ALERT_TELEGRAM_API_URL: proxy.url,
      });
      assert.equal(proxy.received.length, 1);
      assert.match(run.stdout, /^telegram: not sent: Telegram refused the bot token \(HTTP 404: /);
      for (const part of [TOKEN.split(':')[1]!.slice(0, 8), TOKEN.slice(-8)])
        assert.ok(!(run.stdout + run.stderr).includes(part), run.stdout);
    } finally {
      await proxy.close();
    }
  });

  it('a webhook URL with a user and password sends them as Basic authorization, not in the URL', async () => {
    const hook = await startReceiver();
    try {
      const url = new URL(hook.url);
      await webhookChannel({
        url: `http://alerts:p%40ss-word@${url.host}/hook`,
        secret: undefined,
        secretHeader: 'x',
      }).send(MESSAGE);
      const [request] = hook.received;
      assert.equal(request!.path, '/hook');
      assert.equal(
        request!.headers.authorization,
        `Basic ${Buffer.from('alerts:p@ss-word').toString('base64')}`,
      );
    } finally {
      await hook.close();
    }
  });
});
