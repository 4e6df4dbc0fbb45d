import { empty, isBlank, type Transformed, value } from './outcome.ts';

/** A wall-clock reading as IDENT stores it: local clinic time, no zone. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const ISO_LIKE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?/;
const RUSSIAN = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * The mssql driver (useUTC, its default) hands `datetime` columns over as Date objects whose UTC
 * fields are the stored wall clock. Strings in ISO or Russian (dd.mm.yyyy) form are read the same
 * way, so a value means the same whatever form the driver used.
 */
export function readWallClock(raw: unknown): WallClock | undefined {
  if (raw instanceof Date) {
    if (Number.isNaN(raw.getTime())) return undefined;
    return {
      year: raw.getUTCFullYear(),
      month: raw.getUTCMonth() + 1,
      day: raw.getUTCDate(),
      hour: raw.getUTCHours(),
      minute: raw.getUTCMinutes(),
      second: raw.getUTCSeconds(),
    };
  }
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  const iso = ISO_LIKE.exec(text);
  const ru = iso ? undefined : RUSSIAN.exec(text);
  const parts = iso
    ? [iso[1], iso[2], iso[3], iso[4], iso[5], iso[6]]
    : ru
      ? [ru[3], ru[2], ru[1], ru[4], ru[5], ru[6]]
      : undefined;
  if (!parts) return undefined;
  const [year, month, day, hour, minute, second] = parts.map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!isRealDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  return { year, month, day, hour, minute, second };
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();
// Offsets by zone and UTC day: formatToParts is slow, and a zone's offset changes a few times a
// year at most. A day whose two ends agree has one offset all day; others are not cached.
const dayOffsets = new Map<string, Map<number, number>>();
const DAY_MS = 86_400_000;

function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const day = Math.floor(instantMs / DAY_MS);
  let days = dayOffsets.get(timeZone);
  if (!days) {
    days = new Map();
    dayOffsets.set(timeZone, days);
  }
  const cached = days.get(day);
  if (cached !== undefined) return cached;
  const start = measureOffset(day * DAY_MS, timeZone);
  if (start === measureOffset(day * DAY_MS + DAY_MS - 1000, timeZone)) {
    if (days.size > 100_000) days.clear();
    days.set(day, start);
    return start;
  }
  return measureOffset(instantMs, timeZone);
}

function measureOffset(instantMs: number, timeZone: string): number {
  let format = offsetFormatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/** The zone's offset from UTC at this instant, in minutes. Throws for a zone Intl does not know. */
export function offsetMinutes(instant: Date, timeZone: string): number {
  return Math.round(measureOffset(instant.getTime(), timeZone) / 60_000);
}

/** The instant (Unix seconds) at which the clinic's clocks showed this wall-clock time. */
export function wallClockToUnix(clock: WallClock, timeZone: string): number {
  const guess = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
  let instant = guess - zoneOffsetMs(guess, timeZone);
  // A second pass settles the offset when the first guess fell across a daylight-saving change.
  instant = guess - zoneOffsetMs(instant, timeZone);
  return Math.floor(instant / 1000);
}

/** Today's calendar date on the clinic's clocks. */
export function clinicToday(now: Date, timeZone: string): WallClock {
  const offset = zoneOffsetMs(now.getTime(), timeZone);
  const local = new Date(now.getTime() + offset);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: 0,
    minute: 0,
    second: 0,
  };
}

export interface DateRules {
  timeZone: string;
  now: Date;
  /** Dates on or before this (YYYY-MM-DD) are IDENT placeholders, not real dates. */
  placeholderUntil: string;
  allowFuture: boolean;
}

function compareDays(a: WallClock, b: WallClock): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

// Every date field of every row asks for the same two days: each is worked out once.
let lastPlaceholder: { text: string; clock: WallClock } | undefined;
let lastToday: { minute: number; timeZone: string; clock: WallClock } | undefined;

function placeholderDay(text: string): WallClock {
  if (lastPlaceholder?.text !== text) lastPlaceholder = { text, clock: readWallClock(text)! };
  return lastPlaceholder.clock;
}

function todayOf(rules: DateRules): WallClock {
  // Zone offsets are whole minutes, so a day never changes within a minute.
  const minute = Math.floor(rules.now.getTime() / 60_000);
  if (lastToday?.minute !== minute || lastToday.timeZone !== rules.timeZone) {
    lastToday = { minute, timeZone: rules.timeZone, clock: clinicToday(rules.now, rules.timeZone) };
  }
  return lastToday.clock;
}

function checkedDay(raw: unknown, rules: DateRules): Transformed<WallClock> {
  if (isBlank(raw)) return empty();
  const clock = readWallClock(raw);
  if (!clock) return empty('not a readable date');
  if (compareDays(clock, placeholderDay(rules.placeholderUntil)) <= 0) return empty('placeholder date');
  if (!rules.allowFuture && compareDays(clock, todayOf(rules)) > 0) {
    return empty('date in the future');
  }
  if (clock.year > 9999) return empty('date out of range');
  return value(clock);
}

/*
 * How dates travel to amoCRM. A negative Unix timestamp (any day before 1970) is refused in date,
 * birthday and date_time fields, and an entity holding one cannot be updated any more
 * (amocrm/amocrm-api-php issues #85 and #219); the official library writes these values as
 * RFC 3339 strings since 2021 (DateCustomFieldValueModel::toApi, `DateTime::RFC3339`). So every
 * date leaves here as RFC 3339 with the clinic's offset, and amoCRM's answer (Unix seconds) is
 * brought back to the same text by `normaliseDateRead` below, so the two compare equal.
 */

/** `+03:00`: the zone's offset at that instant, in whole minutes (RFC 3339 has no seconds there). */
function offsetText(instantMs: number, timeZone: string): string {
  const minutes = Math.round(zoneOffsetMs(instantMs, timeZone) / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Midnight of a calendar day on the clinic's clocks, as RFC 3339: `1965-03-10T00:00:00+03:00`. */
export function dayText(day: Pick<WallClock, 'year' | 'month' | 'day'>, timeZone: string): string {
  // A clinic's birth dates and visit days repeat across patients: each day is written out once.
  const key = `${timeZone}|${day.year}-${day.month}-${day.day}`;
  const cached = dayTexts.get(key);
  if (cached !== undefined) return cached;
  const midnight = wallClockToUnix({ ...day, hour: 0, minute: 0, second: 0 }, timeZone) * 1000;
  const text = `${pad(day.year, 4)}-${pad(day.month)}-${pad(day.day)}T00:00:00${offsetText(midnight, timeZone)}`;
  if (dayTexts.size > 100_000) dayTexts.clear();
  dayTexts.set(key, text);
  return text;
}

const dayTexts = new Map<string, string>();

/**
 * An instant as RFC 3339 in the clinic's zone, to the whole minute: amoCRM shows date_time fields
 * to the minute, and whether it keeps seconds is not documented; minutes compare equal either way.
 */
export function instantText(unixSeconds: number, timeZone: string): string {
  const ms = Math.floor(unixSeconds / 60) * 60_000;
  const offset = offsetText(ms, timeZone);
  const sign = offset.startsWith('-') ? -1 : 1;
  const local = new Date(ms + sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * 60_000);
  return `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:00${offset}`;
}

/** A calendar date as amoCRM's date fields hold it: midnight of that day on the clinic's clocks. */
export function toDate(raw: unknown, rules: DateRules): Transformed<string> {
  const day = checkedDay(raw, rules);
  if (day.kind === 'empty') return day;
  return value(dayText(day.value, rules.timeZone));
}

/** A moment written in clinic time (IDENT's wall clock). */
export function toDateTime(raw: unknown, rules: DateRules): Transformed<string> {
  const day = checkedDay(raw, rules);
  if (day.kind === 'empty') return day;
  return value(instantText(wallClockToUnix(day.value, rules.timeZone), rules.timeZone));
}

/** Unix seconds from what amoCRM reads back: a number, a numeric string, or an RFC 3339 string. */
export function readInstant(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? Math.trunc(raw) : undefined;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const text = raw.trim();
  if (/^-?\d+$/.test(text)) return Number(text);
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : Math.floor(parsed / 1000);
}

/**
 * A date field's value as read back, in the form `toDate` / `toDateTime` make. A date field is
 * compared by calendar day: amoCRM may keep the midnight we sent, or midnight in the account's own
 * zone. Midnight in any zone from UTC−12 to UTC+12 lies within 12 hours before or after 00:00 UTC
 * of its day, so the UTC day of (stamp + 12 h) is the calendar day whichever zone amoCRM used.
 */
export function normaliseDateRead(raw: unknown, kind: 'date' | 'datetime', timeZone: string): string | null {
  const seconds = readInstant(raw);
  if (seconds === undefined) return null;
  if (kind === 'datetime') return instantText(seconds, timeZone);
  const noonish = new Date((seconds + 12 * 3600) * 1000);
  return dayText(
    { year: noonish.getUTCFullYear(), month: noonish.getUTCMonth() + 1, day: noonish.getUTCDate() },
    timeZone,
  );
}

/** Full years between the birth date and today on the clinic's calendar. */
export function toAge(raw: unknown, rules: DateRules & { maxAge: number }): Transformed<number> {
  const birth = checkedDay(raw, { ...rules, allowFuture: false });
  if (birth.kind === 'empty') return birth;
  const today = todayOf(rules);
  const hadBirthday =
    today.month > birth.value.month || (today.month === birth.value.month && today.day >= birth.value.day);
  const age = today.year - birth.value.year - (hadBirthday ? 0 : 1);
  if (age > rules.maxAge) return empty(`age over ${rules.maxAge}`);
  return value(age);
}
