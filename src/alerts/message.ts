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
 * What is not personal data yet looks like it (digits in groups, capitalised words): dates and
 * times, GUIDs, IP addresses and host:port (the SQL Server's address is the integrator's clue).
 * They are set aside before the net below and put back after it.
 */
const KEPT = new RegExp(
  [
    /\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z?)?/.source,
    /\b\d\d:\d\d(?::\d\d)?\b/.source,
    /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/.source,
    /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.-])/.source,
    /\b[a-z][\w.-]*:\d{1,5}(?![\w-])/.source,
  ].join('|'),
  'gi',
);

/** A Russian full name: two capitalised words and a patronymic, in either order (Иванова Мария Петровна). */
const NAME =
  /(?:[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?\s+)?[А-ЯЁ][а-яё]+\s+[А-ЯЁ][а-яё]*(?:ович|евич|ич|овна|евна|ична|инична)(?![а-яё])(?:\s+[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?)?/gu;

/** A Russian phone number: +7/8 and ten digits in the usual groups, or a local 234-56-78. */
const PHONE =
  /(?<![\w+])(?:(?:\+7|8|7)[\s-]?)?\(?\d{3}\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\w)|(?<!\w)\d{3}([\s-])\d{2}\1\d{2}(?![\w-])/g;

/**
 * A last net under the rules' own sentences (which carry no personal data): a Russian full name,
 * anything shaped like an e-mail address or a phone number is blanked, secrets are masked, and
 * the length is capped.
 */
export function scrub(text: string): string {
  const kept: string[] = [];
  const cleaned = maskSecrets(text)
    .replace(KEPT, (found) => `\uE000${kept.push(found) - 1}\uE000`)
    .replace(NAME, '[name]')
    // Any x@y.z, in any script (иванов@почта.рф).
    .replace(
      /[^\s@<>"',;:()[\]\uE000]+@[^\s@<>"',;:()[\]\uE000]+\.[^\s@<>"',;:()[\]\uE000]*[\p{L}\p{N}]/gu,
      '[e-mail]',
    )
    .replace(PHONE, '[number]')
    .replace(/\uE000(\d+)\uE000/g, (_, index: string) => kept[Number(index)] ?? '')
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
