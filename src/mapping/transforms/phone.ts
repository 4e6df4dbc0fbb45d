import { INVISIBLE, isBlank } from './outcome.ts';

export interface PhoneParse {
  /** Normalised numbers found in the cell, in the order written, without repeats. */
  phones: string[];
  /** Why parts of the cell were not used (too short, not a number…). */
  notes: string[];
}

// Separators between two numbers written in one cell; a single space or dash is part of a number.
const SEPARATORS = /[,;/\\|\n]|\s+(?:или|и|or)\s+/i;
// An extension after the number: "доб. 123", "ext 12", "#12", "x12".
const EXTENSION = /\s*(?:доб\.?|добавочный|вн\.?|ext\.?|extension|#|x)\s*\d*\s*$/i;

/**
 * Russian numbers become +7 and ten digits (+79001234567), whatever way they were written (8…, +7…, 7…).
 * Numbers written with another country code (+…, 00…, 810…) are kept in international form.
 * Anything with too few or too many digits is left out with a note.
 */
export function parsePhones(raw: unknown): PhoneParse {
  const result: PhoneParse = { phones: [], notes: [] };
  if (isBlank(raw)) return result;
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'bigint') {
    result.notes.push(
      `unexpected ${raw instanceof Date ? 'date' : typeof raw} value where a phone was expected`,
    );
    return result;
  }
  const cell = String(raw).replace(INVISIBLE, '');
  for (const part of cell.split(SEPARATORS)) {
    if (part.trim() === '') continue;
    const normalised = normalisePhone(part);
    if (normalised.phone) {
      if (!result.phones.includes(normalised.phone)) result.phones.push(normalised.phone);
    } else if (normalised.note) {
      result.notes.push(normalised.note);
    }
  }
  return result;
}

export function normalisePhone(written: string): { phone?: string; note?: string } {
  // Remarks such as "(мама)" or "моб." carry no digits of the number.
  const withoutRemarks = written.replace(/\([^)]*[a-zа-яё][^)]*\)/gi, ' ').replace(EXTENSION, '');
  const hasPlus = /^[^\d]*\+/.test(withoutRemarks);
  let digits = withoutRemarks.replace(/\D/g, '');
  if (digits === '') return {};

  if (hasPlus) return international(digits);
  if (digits.startsWith('00')) return international(digits.slice(2));
  if (digits.startsWith('810') && digits.length > 11) return international(digits.slice(3));

  if (digits.length === 11 && (digits.startsWith('8') || digits.startsWith('7'))) digits = digits.slice(1);
  if (digits.length === 10) {
    // Russian numbers after the trunk prefix start with 3, 4, 8 (landlines) or 9 (mobiles).
    if (/^[3489]/.test(digits)) return { phone: `+7${digits}` };
    return { note: 'ten-digit phone that is not a Russian number' };
  }
  if (digits.length < 10) return { note: `phone too short (${digits.length} digits)` };
  // Longer than a Russian number with no + sign: written with a country code and no +.
  return international(digits);
}

function international(digits: string): { phone?: string; note?: string } {
  if (digits.startsWith('7')) {
    return digits.length === 11
      ? { phone: `+${digits}` }
      : { note: `+7 phone with ${digits.length - 1} digits` };
  }
  if (digits.length < 8) return { note: `international phone too short (${digits.length} digits)` };
  if (digits.length > 15) return { note: `phone too long (${digits.length} digits)` };
  return { phone: `+${digits}` };
}
