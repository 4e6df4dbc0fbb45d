import { createTransport } from 'nodemailer';
import type { AlertChannelsConfig } from '../config/config.ts';
import { registerSecret } from '../logging/redact.ts';
import { type AlertChannel, DeliveryError, SEND_TIMEOUT_MS } from './channel.ts';
import { type AlertMessage, subjectOf, textOf } from './message.ts';

/**
 * E-mail over SMTP with nodemailer: it speaks STARTTLS, implicit TLS, AUTH PLAIN/LOGIN and the
 * line and dot rules of SMTP correctly, which a few lines of our own would not.
 */
export function emailChannel(config: NonNullable<AlertChannelsConfig['email']>): AlertChannel {
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
  return {
    name: 'email',
    async send(message: AlertMessage) {
      try {
        await transport.sendMail({
          from: config.from,
          to: config.to,
          subject: subjectOf(message),
          text: textOf(message),
        });
      } catch (error) {
        throw new DeliveryError(smtpProblem(error, config.host));
      }
    },
  };
}

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
