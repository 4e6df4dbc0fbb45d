/** What a transform makes of one source value. */
export type Transformed<T> =
  | { kind: 'value'; value: T; note?: string }
  /** Nothing to send: the field is cleared in amoCRM. `note` says why, when the source was not simply empty. */
  | { kind: 'empty'; note?: string };

export const value = <T>(v: T, note?: string): Transformed<T> =>
  note ? { kind: 'value', value: v, note } : { kind: 'value', value: v };
export const empty = (note?: string): Transformed<never> =>
  note ? { kind: 'empty', note } : { kind: 'empty' };

/** Null, undefined and strings that hold nothing but whitespace or invisible characters. */
export function isBlank(raw: unknown): boolean {
  if (raw === null || raw === undefined) return true;
  if (typeof raw !== 'string') return false;
  // Fast path: a string that starts with a visible character is not blank.
  if (raw.length > 0 && !SPACE_OR_INVISIBLE.test(raw[0]!)) return false;
  return raw.replace(INVISIBLE, '').trim() === '';
}

const SPACE_OR_INVISIBLE = /[\s\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/;

// Zero-width and formatting characters that survive copy-paste from Word and messengers.
export const INVISIBLE = /[\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;
