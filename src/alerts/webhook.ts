import type { AlertChannelsConfig } from '../config/config.ts';
import { registerSecret } from '../logging/redact.ts';
import { type AlertChannel, DeliveryError, postJson, SEND_DEADLINE_MS, withinDeadline } from './channel.ts';
import type { AlertMessage } from './message.ts';

/**
 * A JSON POST of the message to any URL; with a secret, it goes in a header the receiver checks.
 * Credentials in the URL (`https://user:pass@host/hook`) go as HTTP Basic authorization, which
 * fetch does not do on its own. A redirect is not followed: it would turn the POST into a GET
 * without the alert, or carry the secret to another host.
 */
export function webhookChannel(
  config: NonNullable<AlertChannelsConfig['webhook']>,
  options: { deadlineMs?: number } = {},
): AlertChannel {
  registerSecret(config.secret);
  const url = new URL(config.url);
  const basic =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  registerSecret(url.password ? decodeURIComponent(url.password) : undefined);
  registerSecret(basic);
  url.username = '';
  url.password = '';
  const host = url.host;
  const what = `the webhook at ${host}`;
  return {
    name: 'webhook',
    send(message: AlertMessage, outer?: AbortSignal) {
      return withinDeadline(what, options.deadlineMs ?? SEND_DEADLINE_MS, outer, async (signal) => {
        const response = await postJson(
          url,
          { app: 'ident-sync', ...message },
          signal,
          { what, setting: 'ALERT_WEBHOOK_URL' },
          {
            ...(basic ? { authorization: basic } : {}),
            ...(config.secret ? { [config.secretHeader]: config.secret } : {}),
          },
        );
        await response.body?.cancel().catch(() => undefined);
        if (response.status >= 300 && response.status < 400)
          throw new DeliveryError(
            `${what} answered HTTP ${response.status}, a redirect to ${locationHost(response, url)}; set ALERT_WEBHOOK_URL to the address it moved to`,
          );
        if (!response.ok)
          throw new DeliveryError(
            `${what} answered HTTP ${response.status}; check ALERT_WEBHOOK_URL${config.secret ? ' and ALERT_WEBHOOK_SECRET' : ''}`,
          );
      });
    },
  };
}

/** The host a redirect points to (never its path or query, which may hold a token). */
function locationHost(response: Response, base: URL): string {
  const location = response.headers.get('location');
  if (!location) return 'an address it did not give';
  try {
    const target = new URL(location, base);
    return `${target.protocol}//${target.host}`;
  } catch {
    return 'an address that is not a URL';
  }
}
