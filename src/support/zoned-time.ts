import { offsetMinutes } from '../mapping/transforms/dates.ts';

/**
 * Times for people and logs, always on the clinic's clock (TZ) with the offset written out, so a
 * line read on a machine in UTC, or next to amoCRM's, says which moment it means.
 */

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

function parts(instant: Date, timeZone: string) {
  const offset = offsetMinutes(instant, timeZone);
  const local = new Date(instant.getTime() + offset * 60_000);
  const sign = offset < 0 ? '-' : '+';
  const date = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return { date, time, ms: pad(local.getUTCMilliseconds(), 3), zone };
}

/** "2026-12-05T22:19:41.690+03:00" (RFC 3339): a log line's time. */
export function zonedIso(instant: Date, timeZone: string): string {
  const { date, time, ms, zone } = parts(instant, timeZone);
  return `${date}T${time}.${ms}${zone}`;
}

/** "2026-12-05 22:19:41 +03:00": a time `status` and the demo show. */
export function zonedText(instant: Date, timeZone: string): string {
  const { date, time, zone } = parts(instant, timeZone);
  return `${date} ${time} ${zone}`;
}

/**
 * IDENT's clock (the driver hands its wall-clock time over in a Date's UTC fields) as `zonedText`
 * writes it: the clinic's server keeps the clinic's time, so the offset is TZ's at that moment.
 */
export function wallClockText(wallClock: Date, timeZone: string): string {
  const guess = new Date(wallClock.getTime() - offsetMinutes(wallClock, timeZone) * 60_000);
  const instant = new Date(wallClock.getTime() - offsetMinutes(guess, timeZone) * 60_000);
  return zonedText(instant, timeZone);
}
