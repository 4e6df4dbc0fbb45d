import { maskSecrets } from '../logging/redact.ts';

/** One alert as every channel sends it: counts and one sentence, never a patient's data. */
export interface AlertMessage {
  event: 'opened' | 'recovered' | 'test';
  /**
   * The incident's id, the same in its opening and its recovery: a message may arrive twice (a
   * receiver that took it but answered late, a kill before the answer), so receivers de-duplicate
   * on `incident` and `event`.
   */
  incident?: number;
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
    // Two or more capitalised Cyrillic words in a row: a patient's name (Иванова Мария Петровна).
    .replace(/[А-ЯЁ][а-яё]+(?:[\s-]+[А-ЯЁ][а-яё]+)+/gu, '[name]')
    // Any x@y.z, in any script (иванов@почта.рф).
    .replace(/[^\s@<>"',;:()[\]]+@[^\s@<>"',;:()[\]]+\.[^\s@<>"',;:()[\]]*[\p{L}\p{N}]/gu, '[e-mail]')
    // Seven or more digits with separators: a local number (234-56-78) as much as +7 (912) 345-67-89.
    // A date and time (2026-11-28 10:00) is not a phone number.
    .replace(/\+?\(?\d[\d\s().-]{5,}\d/g, (found) =>
      (found.match(/\d/g) ?? []).length < 7 || /^\d{4}-\d\d-\d\d( \d\d(:\d\d)?)?$/.test(found.trim())
        ? found
        : '[number]',
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
  if (message.incident !== undefined) lines.push('', `incident #${message.incident} ${message.event}`);
  if (message.openedAt) lines.push('', `since ${message.openedAt}`);
  if (message.recoveredAt) lines.push(`recovered ${message.recoveredAt}`);
  return lines.join('\n');
}
