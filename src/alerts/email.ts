import { createTransport } from 'nodemailer';
import type { AlertChannelsConfig } from '../config/config.ts';
import { registerSecret } from '../logging/redact.ts';
import {
  type AlertChannel,
  DeliveryError,
  SEND_DEADLINE_MS,
  SEND_TIMEOUT_MS,
  withinDeadline,
} from './channel.ts';
import { type AlertMessage, subjectOf, textOf } from './message.ts';

/**
 * E-mail over SMTP with nodemailer: it speaks STARTTLS, implicit TLS, AUTH PLAIN/LOGIN and the
 * line and dot rules of SMTP correctly, which a few lines of our own would not.
 *
 * A recipient the server does not take at once (a 4xx at RCPT: greylisting, a full mailbox) fails
 * the send, and the next try of the same message goes to the recipients still owed it only.
 */
export function emailChannel(
  config: NonNullable<AlertChannelsConfig['email']>,
  options: { deadlineMs?: number } = {},
): AlertChannel {
  registerSecret(config.password);
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: config.tls === 'tls',
    requireTLS: config.tls === 'starttls',
    ignoreTLS: config.tls === 'none',
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    connectionTimeout: SEND_TIMEOUT_MS,
    greetingTimeout: SEND_TIMEOUT_MS,
    socketTimeout: SEND_TIMEOUT_MS,
  });
  const everyone = [config.to].flat();
  /** Per message (incident and event), the recipients that have not taken it yet. */
  const owed = new Map<string, string[]>();
  const what = `the mail server ${config.host}`;
  return {
    name: 'email',
    send(message: AlertMessage, outer?: AbortSignal) {
      return withinDeadline(what, options.deadlineMs ?? SEND_DEADLINE_MS, outer, async (signal) => {
        const key = `${message.incident ?? message.rule}:${message.event}`;
        const to = owed.get(key) ?? everyone;
        let info: { rejected?: unknown[]; pending?: unknown[] };
        try {
          info = (await transport.sendMail({
            from: config.from,
            to,
            subject: subjectOf(message),
            text: textOf(message),
            signal,
          })) as typeof info;
        } catch (error) {
          if (signal.aborted && signal.reason instanceof DeliveryError) throw signal.reason;
          throw new DeliveryError(smtpProblem(error, config.host));
        }
        const notTaken = [...(info.rejected ?? []), ...(info.pending ?? [])].map(addressOf);
        if (notTaken.length === 0) {
          owed.delete(key);
          return;
        }
        owed.set(
          key,
          to.filter((address) => notTaken.includes(address.toLowerCase())),
        );
        throw new DeliveryError(
          `${what} did not take the alert for ${notTaken.length} of ${to.length} recipients yet; it is sent to them again later (check ALERT_EMAIL_TO if this persists)`,
        );
      });
    },
  };
}

const addressOf = (entry: unknown): string =>
  (typeof entry === 'string' ? entry : String((entry as { address?: string }).address ?? '')).toLowerCase();

function smtpProblem(error: unknown, host: string): string {
  const e = error as { code?: string; responseCode?: number; command?: string };
  if (e.code === 'EAUTH')
    return `the mail server ${host} refused the login (SMTP ${e.responseCode ?? 'auth'}); check ALERT_SMTP_USER and ALERT_SMTP_PASSWORD`;
  if (
    e.code === 'ETLS' ||
    (e.code === 'ESOCKET' && /TLS|SSL|certificate/i.test(String((error as Error).message)))
  )
    return `the TLS handshake with the mail server ${host} failed; check ALERT_SMTP_TLS and ALERT_SMTP_PORT (tls is port 465, starttls port 587)`;
  if (e.code === 'ECONNECTION' || e.code === 'ESOCKET' || e.code === 'ETIMEDOUT' || e.code === 'EDNS')
    return `the mail server ${host} could not be reached (${e.code}); check ALERT_SMTP_HOST, ALERT_SMTP_PORT and the firewall`;
  if (e.code === 'EENVELOPE' || e.command === 'RCPT TO' || e.command === 'MAIL FROM')
    return `the mail server ${host} refused the sender or a recipient (SMTP ${e.responseCode ?? 'envelope'}); check ALERT_EMAIL_FROM and ALERT_EMAIL_TO`;
  return `the mail server ${host} refused the message (${e.responseCode ? `SMTP ${e.responseCode}` : (e.code ?? 'unknown error')}); check the ALERT_SMTP_ settings`;
}
