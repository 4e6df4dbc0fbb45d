import { empty, INVISIBLE, isBlank, type Transformed, value } from './outcome.ts';

export interface NumberRules {
  /** Digits kept after the decimal point. */
  decimals: number;
  min: number;
  max: number;
}

export const NUMBER_KINDS = {
  number: { decimals: 2, min: -1e12, max: 1e12 },
  money: { decimals: 2, min: -1e12, max: 1e12 },
  integer: { decimals: 0, min: 0, max: 1e9 },
  percent: { decimals: 2, min: 0, max: 100 },
} as const satisfies Record<string, NumberRules>;

/**
 * Numbers as the driver gives them (number, decimal as number, bigint or bigint-as-string) and as
 * people type them ("1 234,50", "15%", "1234.5 руб."). Values that are not numbers, or fall outside
 * the field's range, are left out with a note rather than sent wrong.
 */
export function toNumber(raw: unknown, rules: NumberRules): Transformed<number> {
  if (isBlank(raw)) return empty();
  let parsed: number;
  if (typeof raw === 'number') parsed = raw;
  else if (typeof raw === 'bigint') parsed = Number(raw);
  else if (typeof raw === 'boolean') return empty('yes/no value where a number was expected');
  else if (typeof raw === 'string') {
    const cleaned = raw
      .replace(INVISIBLE, '')
      .replace(/[\s\u00A0\u202F']/g, '')
      .replace(/(руб\.?|р\.|₽|rub|%)$/i, '')
      .replace(',', '.');
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cleaned)) return empty('not a number');
    parsed = Number(cleaned);
  } else
    return empty(`unexpected ${raw instanceof Date ? 'date' : typeof raw} value where a number was expected`);

  if (!Number.isFinite(parsed)) return empty('not a finite number');
  const factor = 10 ** rules.decimals;
  const rounded = Math.round(parsed * factor) / factor;
  if (rounded < rules.min || rounded > rules.max) return empty(`number outside ${rules.min}…${rules.max}`);
  return value(Object.is(rounded, -0) ? 0 : rounded);
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'y', 'да', 'д', 'истина', 't']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'n', 'нет', 'н', 'ложь', 'f']);

/** A checkbox: SQL bit, 0/1, or yes/no words. Empty means unticked: amoCRM has no third state. */
export function toBoolean(raw: unknown): Transformed<boolean> {
  if (isBlank(raw)) return value(false);
  if (typeof raw === 'boolean') return value(raw);
  if (typeof raw === 'number' || typeof raw === 'bigint') return value(Number(raw) !== 0);
  if (typeof raw === 'string') {
    const word = raw.replace(INVISIBLE, '').trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return value(true);
    if (FALSE_WORDS.has(word)) return value(false);
    return value(false, 'not a yes/no value; sent as unticked');
  }
  return value(false, `unexpected ${typeof raw} value; sent as unticked`);
}
