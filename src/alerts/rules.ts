import type { AlertRulesConfig } from '../config/config.ts';
import type { Incident } from '../state/incidents.ts';
import type { RunErrorKind, RunRecord } from '../state/store.ts';
import { AMOCRM_KINDS, IDENT_KINDS, REFUSAL_KINDS } from './error-kind.ts';
import type { AlertFacts } from './facts.ts';

export type RuleId =
  | 'failed-runs'
  | 'no-success'
  | 'token'
  | 'ident-unreachable'
  | 'amocrm-unreachable'
  | 'account-blocked'
  | 'account-unpaid'
  | 'refused-growing';

export interface Rule {
  id: RuleId;
  /** What the incident is, in a few words (the message's subject). */
  title: string;
  /**
   * Why it fires now, in one sentence; undefined when it does not. `open` is its incident, when
   * one is open: a rule about time then holds it until a run says otherwise, never on time alone.
   */
  check(facts: AlertFacts, open?: Incident): string | undefined;
  /**
   * Whether its open incident ends without a recovery message (the problem changed, not gone); if
   * the rule still fires, a new incident opens at once.
   */
  quietClear?(facts: AlertFacts, open: Incident): boolean;
}

/** A refused-values incident clears once they are back at their floor for this long (no flapping). */
export const REFUSED_SETTLE_MS = 60 * 60_000;

/** The trailing streak of runs matching `matches` among those `counts` says something about. */
export function streak(
  runs: readonly RunRecord[],
  counts: (run: RunRecord) => boolean,
  matches: (run: RunRecord) => boolean,
): { runs: number; since: Date; latest: RunRecord; first: RunRecord } | undefined {
  let found: { runs: number; since: Date; latest: RunRecord; first: RunRecord } | undefined;
  for (const run of runs) {
    if (!counts(run)) continue;
    if (!matches(run)) break;
    found = found
      ? { ...found, runs: found.runs + 1, since: new Date(run.startedAt), first: run }
      : { runs: 1, since: new Date(run.startedAt), latest: run, first: run };
  }
  return found;
}

/** Runs failed in a row, newest first; a folded row of identical failed start-ups counts each attempt. */
export function failedInARow(runs: readonly RunRecord[]): { count: number; latest: RunRecord | undefined } {
  let count = 0;
  let latest: RunRecord | undefined;
  for (const run of runs) {
    if (run.outcome !== 'failed') break;
    latest ??= run;
    count += Math.max(1, run.attempts);
  }
  return { count, latest };
}

const failedWith = (kinds: ReadonlySet<RunErrorKind>) => (run: RunRecord) =>
  run.outcome === 'ok' || (run.errorKind !== null && kinds.has(run.errorKind));
const isKind = (kind: RunErrorKind) => (run: RunRecord) => run.outcome === 'failed' && run.errorKind === kind;
const minutes = (ms: number) => Math.floor(ms / 60_000);
export const shownTime = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const because = (run: RunRecord) => (run.error ? `: ${run.error}` : '');

/** The rules that are on (a threshold of 0 turns one off). */
export function buildRules(config: AlertRulesConfig): Rule[] {
  const rules: Rule[] = [];
  if (config.failedRuns > 0)
    rules.push({
      id: 'failed-runs',
      title: 'sync runs keep failing',
      check({ runs }) {
        const { count, latest } = failedInARow(runs);
        if (!latest || count < config.failedRuns) return undefined;
        return `the last ${count} sync runs failed, the latest${because(latest)}`;
      },
    });
  if (config.noSuccessMinutes > 0)
    rules.push({
      id: 'no-success',
      title: 'no successful sync',
      check({ lastSuccess, watchingSince, runs, elapsed }, open) {
        if (open)
          return runs.some((run) => run.outcome === 'ok' && run.id > open.lastRun) ? undefined : open.reason;
        const since = lastSuccess ?? watchingSince;
        const success = runs.find((run) => run.outcome === 'ok');
        const lasted = minutes(elapsed('no-success', success ? `run ${success.id}` : 'none', since));
        if (lasted < config.noSuccessMinutes) return undefined;
        const failed = runs.find((run) => run.outcome === 'failed');
        const what = lastSuccess
          ? `no sync run has succeeded since ${shownTime(since)}`
          : 'no sync run has succeeded yet';
        return `${what} (${lasted} minutes)${failed ? `; the latest failure${because(failed)}` : ''}`;
      },
    });
  if (config.tokenDays > 0)
    rules.push({
      id: 'token',
      title: 'the amoCRM token needs a person',
      check({ now, runs, token }) {
        const refused = streak(runs, failedWith(AMOCRM_KINDS), isKind('token'));
        if (refused) return refused.latest.error ?? 'amoCRM refused the token; run `ident-sync auth`';
        if (!token) return undefined;
        const days = (token.expiresAt.getTime() - now.getTime()) / 86_400_000;
        if (days >= config.tokenDays) return undefined;
        const when =
          days <= 0 ? `expired on ${shownTime(token.expiresAt)}` : `expires on ${shownTime(token.expiresAt)}`;
        return token.which === 'long-lived'
          ? `the amoCRM long-lived token ${when}; issue a new one in the integration's settings and set AMOCRM_LONG_LIVED_TOKEN`
          : `the amoCRM refresh token has not been renewed for ${Math.floor(90 - days)} days and ${when}; check why the daemon's refresh fails, or run \`ident-sync auth\` again`;
      },
    });
  if (config.unreachableMinutes > 0) {
    const unreachable = (
      id: RuleId,
      system: string,
      kinds: ReadonlySet<RunErrorKind>,
      kind: RunErrorKind,
    ): Rule => ({
      id,
      title: `${system} cannot be reached`,
      check({ runs, elapsed }, open) {
        const down = streak(runs, failedWith(kinds), isKind(kind));
        if (!down) return undefined;
        if (open) return open.reason;
        const lasted = minutes(elapsed(id, `run ${down.first.id}`, down.since));
        if (lasted < config.unreachableMinutes) return undefined;
        return `${system} has not answered for ${lasted} minutes${because(down.latest)}`;
      },
    });
    rules.push(unreachable('ident-unreachable', 'IDENT', IDENT_KINDS, 'ident-unreachable'));
    rules.push(unreachable('amocrm-unreachable', 'amoCRM', AMOCRM_KINDS, 'amocrm-unreachable'));
  }
  if (config.account) {
    // amoCRM out of reach says nothing of a block or of the payment: only an answer does.
    const answered = failedWith(REFUSAL_KINDS);
    const refusing = (id: RuleId, title: string, kind: RunErrorKind): Rule => ({
      id,
      title,
      check({ runs }) {
        const refused = streak(runs, answered, isKind(kind));
        return refused ? (refused.latest.error ?? title) : undefined;
      },
      // amoCRM now refuses for another reason (402 became 403): not a recovery of amoCRM.
      quietClear: ({ runs }) => runs.find(answered)?.outcome === 'failed',
    });
    rules.push(refusing('account-blocked', 'amoCRM blocks this integration (403)', 'blocked'));
    rules.push(refusing('account-unpaid', 'the amoCRM account is not paid (402)', 'unpaid'));
  }
  if (config.refusedGrowth > 0) {
    const unsent = /\((\d+) now stand unsent\)/;
    // Grown by the threshold again since the open incident's message: that incident gives way to
    // a new one with the new count (no recovery message: nothing recovered).
    const grownAgain = (refused: number, open: Incident) => {
      const announced = unsent.exec(open.reason)?.[1];
      return announced !== undefined && refused - Number(announced) >= config.refusedGrowth;
    };
    rules.push({
      id: 'refused-growing',
      title: 'amoCRM refuses more values',
      check({ refused, refusedFloor, refusedBackMs }, open) {
        const grown = refused - refusedFloor;
        if (open) {
          if (grownAgain(refused, open)) return undefined;
          return refusedBackMs >= REFUSED_SETTLE_MS ? undefined : open.reason;
        }
        if (grown < config.refusedGrowth) return undefined;
        return `amoCRM refused ${grown} more values than the fewest of the last 24 hours (${refused} now stand unsent); \`ident-sync status\` lists each with amoCRM's reason`;
      },
      quietClear: ({ refused }, open) => grownAgain(refused, open),
    });
  }
  return rules;
}
