import { maskSecrets } from '../logging/redact.ts';

/** One alert as every channel sends it: counts and one sentence, never a patient's data. */
export interface AlertMessage {
  event: 'opened' | 'recovered' | 'test';
  rule: string;
  title: string;
  reason: string;
  /** Which installation speaks: the amoCRM account's host (not personal data). */
  source: string;
  openedAt?: string;
  recoveredAt?: string;
}

const MAX_REASON = 400;

/**
 * A last net under the rules' own sentences (which carry no personal data): anything shaped like
 * an e-mail address or a phone number is blanked, secrets are masked, and the length is capped.
 */
export function scrub(text: string): string {
  const cleaned = maskSecrets(text)
    .replace(/[^\s@<>"',;:]+@[^\s@<>"',;:]+\.[A-Za-z]{2,}/g, '[e-mail]')
    // A date and time (2026-11-28 10:00) is not a phone number.
    .replace(/\+?\d[\d\s().-]{8,}\d/g, (found) =>
      /^\d{4}-\d\d-\d\d( \d\d)?$/.test(found) ? found : '[number]',
    )
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > MAX_REASON ? `${cleaned.slice(0, MAX_REASON - 1)}…` : cleaned;
}

const HEADINGS = { opened: 'ALERT', recovered: 'RECOVERED', test: 'TEST' } as const;

export function subjectOf(message: AlertMessage): string {
  return `[ident-sync ${message.source}] ${HEADINGS[message.event]}: ${message.title}`;
}

/** The plain text of a message (Telegram, e-mail). */
export function textOf(message: AlertMessage): string {
  const lines = [subjectOf(message), '', message.reason];
  if (message.openedAt) lines.push('', `since ${message.openedAt}`);
  if (message.recoveredAt) lines.push(`recovered ${message.recoveredAt}`);
  return lines.join('\n');
}
