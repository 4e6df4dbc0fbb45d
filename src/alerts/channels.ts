import type { AlertChannelsConfig } from '../config/config.ts';
import type { AlertChannel } from './channel.ts';
import { emailChannel } from './email.ts';
import { telegramChannel } from './telegram.ts';
import { webhookChannel } from './webhook.ts';

/** The channels `.env` configures, in a fixed order. */
export function buildChannels(config: AlertChannelsConfig): AlertChannel[] {
  return [
    ...(config.telegram ? [telegramChannel(config.telegram)] : []),
    ...(config.email ? [emailChannel(config.email)] : []),
    ...(config.webhook ? [webhookChannel(config.webhook)] : []),
  ];
}
