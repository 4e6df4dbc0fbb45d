import { offsetMinutes } from '../mapping/transforms/dates.ts';

/**
 * amoCRM shows a date field as midnight in the account's own time zone
 * (`GET /api/v4/account?with=datetime_settings`, `_embedded.datetime_settings.timezone`). Dates are
 * sent at midnight in TZ, so when the two zones' offsets differ a person sees them a day off in the
 * interface (the sync itself compares dates by calendar day, so it is not confused). One sentence
 * naming the fix, or undefined when the zones agree.
 */
export function zoneMismatch(
  accountZone: string | undefined,
  clinicZone: string,
  now = new Date(),
): string | undefined {
  if (!accountZone) return undefined;
  let account: number;
  try {
    account = offsetMinutes(now, accountZone);
  } catch {
    return `amoCRM reports the account's time zone as "${accountZone}", which is not known here; check that TZ=${clinicZone} is the clinic's zone`;
  }
  const clinic = offsetMinutes(now, clinicZone);
  if (account === clinic) return undefined;
  const show = (minutes: number) => `UTC${minutes < 0 ? '−' : '+'}${Math.abs(minutes) / 60}`;
  return `the amoCRM account's time zone is ${accountZone} (${show(account)}) but TZ is ${clinicZone} (${show(clinic)}): dates may show a day off in amoCRM; set TZ to the clinic's zone or change the account's zone in amoCRM settings`;
}
