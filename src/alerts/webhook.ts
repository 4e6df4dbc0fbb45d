import type { AlertChannelsConfig } from '../config/config.ts';
import { registerSecret } from '../logging/redact.ts';
import { type AlertChannel, DeliveryError, networkFailure, SEND_TIMEOUT_MS } from './channel.ts';
import type { AlertMessage } from './message.ts';

/** A JSON POST of the message to any URL; with a secret, it goes in a header the receiver checks. */
export function webhookChannel(config: NonNullable<AlertChannelsConfig['webhook']>): AlertChannel {
  registerSecret(config.secret);
  const host = new URL(config.url).host;
  return {
    name: 'webhook',
    async send(message: AlertMessage) {
      let response: Response;
      try {
        response = await fetch(config.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(config.secret ? { [config.secretHeader]: config.secret } : {}),
          },
          body: JSON.stringify({ app: 'ident-sync', ...message }),
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
      } catch (error) {
        throw networkFailure(error, `the webhook at ${host}`, 'ALERT_WEBHOOK_URL');
      }
      await response.body?.cancel();
      if (!response.ok)
        throw new DeliveryError(
          `the webhook at ${host} answered HTTP ${response.status}; check ALERT_WEBHOOK_URL${config.secret ? ' and ALERT_WEBHOOK_SECRET' : ''}`,
        );
    },
  };
}
