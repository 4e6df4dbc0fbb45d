import type { AlertChannelsConfig } from '../config/config.ts';
import { maskSecrets, registerSecret } from '../logging/redact.ts';
import { type AlertChannel, DeliveryError, postJson, SEND_DEADLINE_MS, withinDeadline } from './channel.ts';
import { type AlertMessage, textOf } from './message.ts';

/** A message from a Telegram bot to one chat (Bot API sendMessage, plain text). */
export function telegramChannel(
  config: NonNullable<AlertChannelsConfig['telegram']>,
  options: { deadlineMs?: number } = {},
): AlertChannel {
  registerSecret(config.botToken);
  return {
    name: 'telegram',
    send(message: AlertMessage, outer?: AbortSignal) {
      return withinDeadline('Telegram', options.deadlineMs ?? SEND_DEADLINE_MS, outer, async (signal) => {
        const response = await postJson(
          `${config.apiUrl}/bot${config.botToken}/sendMessage`,
          { chat_id: config.chatId, text: textOf(message), disable_web_page_preview: true },
          signal,
          { what: 'Telegram', setting: 'ALERT_TELEGRAM_API_URL' },
        );
        const answer = (await response.json().catch(() => undefined)) as
          { ok?: boolean; description?: unknown } | undefined;
        if (response.ok && answer?.ok) return;
        throw new DeliveryError(telegramProblem(response.status, answer?.description));
      });
    },
  };
}

function telegramProblem(status: number, description: unknown): string {
  // Masked before it is cut: a cut token no longer matches the secret it is masked as.
  const said = typeof description === 'string' ? `: ${maskSecrets(description).slice(0, 120)}` : '';
  if (status === 401 || status === 404)
    return `Telegram refused the bot token (HTTP ${status}${said}); check ALERT_TELEGRAM_BOT_TOKEN`;
  if (status === 400 || status === 403)
    return `Telegram refused to write to the chat (HTTP ${status}${said}); check ALERT_TELEGRAM_CHAT_ID and that the bot was added to the chat`;
  return `Telegram answered HTTP ${status}${said}; the alert is sent again later`;
}
