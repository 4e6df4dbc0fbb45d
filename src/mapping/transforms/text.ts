import { empty, INVISIBLE, isBlank, type Transformed, value } from './outcome.ts';

export interface TextOptions {
  multiline: boolean;
  maxLength: number;
}

// Control characters other than tab and line feed; amoCRM rejects or mangles them.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * Any driver value as clean text: invisible characters and control codes removed, non-breaking
 * spaces made plain, whitespace collapsed (line breaks kept in multi-line fields), trimmed, and
 * cut to the field's limit with an ellipsis.
 */
export function toText(raw: unknown, options: TextOptions): Transformed<string> {
  if (isBlank(raw)) return empty();
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' || typeof raw === 'bigint') text = String(raw);
  else if (typeof raw === 'boolean') text = raw ? 'да' : 'нет';
  else if (raw instanceof Date) {
    if (Number.isNaN(raw.getTime())) return empty('not a valid date');
    text = raw.toISOString().slice(0, 10);
  } else if (Buffer.isBuffer(raw)) return empty('binary value where text was expected');
  else return empty(`unexpected ${typeof raw} value where text was expected`);

  // Most values need no cleaning at all: one test instead of five replacements.
  if (!NEEDS_CLEANING.test(text)) return truncate(text, options.maxLength);
  text = text
    .replace(INVISIBLE, '')
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL, '')
    .replace(/[\u00A0\u2007\u202F]/g, ' ');
  text = options.multiline
    ? text
        .split('\n')
        .map((line) => line.replace(/[ \t]+/g, ' ').trimEnd())
        .join('\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim()
    : text.replace(/\s+/g, ' ').trim();
  if (text === '') return empty();
  return truncate(text, options.maxLength);
}

// Anything the cleaning below would change: control and invisible characters, odd spaces,
// whitespace at either end, and runs of whitespace.
/* eslint-disable no-control-regex -- matching control characters is the point */
const NEEDS_CLEANING =
  /[\u0000-\u001F\u007F\u00A0\u00AD\u2007\u200B-\u200F\u202A-\u202F\u2060-\u2064\uFEFF]|\s\s|^\s|\s$/;
/* eslint-enable no-control-regex */

function truncate(text: string, maxLength: number): Transformed<string> {
  // UTF-16 length bounds the character count from above: short strings need no counting.
  if (text.length <= maxLength) return value(text);
  const chars = Array.from(text);
  if (chars.length <= maxLength) return value(text);
  return value(
    `${chars.slice(0, maxLength - 1).join('')}…`,
    `cut from ${chars.length} to ${maxLength} characters`,
  );
}
