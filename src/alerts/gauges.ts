import type { DaemonMetrics } from '../daemon/metrics.ts';
import type { RunErrorKind, RunRecord } from '../state/store.ts';
import { AMOCRM_KINDS, IDENT_KINDS } from './error-kind.ts';
import type { AlertFacts } from './facts.ts';
import { failedInARow, type RuleId } from './rules.ts';

const RULES: readonly RuleId[] = [
  'failed-runs',
  'no-success',
  'token',
  'ident-unreachable',
  'amocrm-unreachable',
  'account-blocked',
  'account-unpaid',
  'refused-growing',
];

const latestAbout = (runs: readonly RunRecord[], kinds: ReadonlySet<RunErrorKind>) =>
  runs.find((run) => run.outcome === 'ok' || (run.errorKind !== null && kinds.has(run.errorKind)));

/** The facts the rules weighed, as gauges, so Prometheus can alert on the same (deploy/prometheus). */
export function exportGauges(metrics: DaemonMetrics, facts: AlertFacts, open: ReadonlySet<string>): void {
  const gauges = metrics.alertFacts;
  gauges.consecutiveFailures.set(failedInARow(facts.runs).count);
  const seen = new Set<string>();
  for (const run of facts.runs) {
    if (run.outcome !== 'ok' || seen.has(run.kind)) continue;
    seen.add(run.kind);
    metrics.setLastSuccess(run.kind, new Date(run.endedAt ?? run.startedAt));
  }
  if (facts.token)
    gauges.tokenExpiry.set({ token: facts.token.which }, facts.token.expiresAt.getTime() / 1000);
  const ident = latestAbout(facts.runs, IDENT_KINDS);
  if (ident) gauges.reachable.set({ system: 'ident' }, ident.outcome === 'ok' ? 1 : 0);
  const amocrm = latestAbout(facts.runs, AMOCRM_KINDS);
  if (amocrm) {
    gauges.reachable.set({ system: 'amocrm' }, amocrm.errorKind === 'amocrm-unreachable' ? 0 : 1);
    for (const reason of ['blocked', 'unpaid', 'token'] as const)
      gauges.amocrmRefusing.set({ reason }, amocrm.errorKind === reason ? 1 : 0);
  }
  gauges.refusedValues.set(facts.refused);
  for (const rule of RULES) gauges.incidentOpen.set({ rule }, open.has(rule) ? 1 : 0);
}
