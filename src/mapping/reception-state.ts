import type { DealMap, StateRule } from './deal-map.ts';
import type { PatientRow } from './mapper.ts';
import { readWallClock, wallClockToUnix } from './transforms/dates.ts';
import { isBlank } from './transforms/outcome.ts';

const folded = (text: string) => text.toLowerCase().replace(/ё/g, 'е');

/**
 * Whether this date column (a wall-clock reading of the clinic) lies `hours` hours before `now` —
 * or, given `identNow` (IDENT's own clock, read as the driver hands its dates over), before that:
 * the database's clock, not the sync host's, which may be stepped hours off.
 */
function isOverdue(raw: unknown, hours: number, now: Date, timeZone: string, identNow?: Date): boolean {
  const clock = readWallClock(raw);
  if (!clock) return false;
  const ident = identNow && readWallClock(identNow);
  const nowUnix = ident ? wallClockToUnix(ident, timeZone) : now.getTime() / 1000;
  return wallClockToUnix(clock, timeZone) + hours * 3600 <= nowUnix;
}

function matchesRule(
  rule: StateRule,
  row: PatientRow,
  now: Date,
  timeZone: string,
  identNow?: Date,
): boolean {
  if (rule.overdue) return isOverdue(row[rule.overdue.column], rule.overdue.hours, now, timeZone, identNow);
  if (rule.when === undefined) return true;
  const value = row[rule.when];
  if (isBlank(value)) return false;
  if (!rule.matches) return true;
  const text = folded(String(value));
  return rule.matches.some((word) => text.includes(folded(word.trim())));
}

/**
 * A reception's state: the first rule of the map that matches (`when` a column is set, its text
 * holding a word of `matches`; `overdue` a date passed by some hours), else the last rule's.
 */
export function receptionState(
  map: Pick<DealMap, 'states'>,
  row: PatientRow,
  now: Date,
  timeZone: string,
  identNow?: Date,
): string {
  return (map.states.find((rule) => matchesRule(rule, row, now, timeZone, identNow)) ?? map.states.at(-1)!)
    .state;
}
