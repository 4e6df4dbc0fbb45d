import { AMOCRM_KINDS, IDENT_KINDS } from '../alerts/error-kind.ts';
import type { Config } from '../config/config.ts';
import type { Health } from '../daemon/health-server.ts';
import type { RunRecord, StateStore } from '../state/store.ts';
import type { PageNames } from './names.ts';
import { type ConsoleQueue, queuedCount, readQueue } from './queue.ts';
import { stateSummary, type TokenStatus, tokenStatus } from './summary.ts';

const DAY_MS = 86_400_000;
export const HISTORY_DAYS = 14;
const RECORDS = 50;

/** What the console reads from the daemon besides the state. */
export interface ConsoleSources {
  config: Config;
  /** The daemon's state, once start-up opened it. */
  store(): StateStore | undefined;
  health(): Health;
  /** The kind of run in progress, if any. */
  running(): string | undefined;
  nextRuns(): { incremental: Date | null; deep: Date | null };
  /** Masked names of these patients, where IDENT gives them in time (a missing one shows the id only). */
  names(patientIds: readonly string[]): Promise<PageNames>;
  /** IDENT's patient count, when known. */
  patients(): Promise<number | undefined>;
}

export interface Reach {
  ok: boolean | undefined;
  text: string;
}

export interface RecordRow {
  what: 'patient' | 'reception';
  problem: 'failing' | 'refused' | 'queued';
  id: string;
  name: string | undefined;
  field?: string;
  reason: string;
  link: string | undefined;
  since: string;
}

export interface DayTotals {
  day: string;
  runs: number;
  durationMinutes: number;
  writes: number;
  failures: number;
}

export interface ConsoleView {
  generatedAt: string;
  health: Health;
  running: string | undefined;
  next: { incremental: Date | null; deep: Date | null };
  lastSuccess: { label: string; at: string | null }[];
  token: { text: string; warn: boolean };
  reach: { ident: Reach; amocrm: Reach };
  numbers: { label: string; value: number | undefined; warn?: boolean }[];
  days: DayTotals[];
  runs: RunRecord[];
  records: RecordRow[];
  /** Patients on the page whose names IDENT did not give in time. */
  namesMissing: number;
  queue: ConsoleQueue;
  queued: number;
  receptions: boolean;
}

/** One sentence, at most this long, for a table cell. */
export const sentence = (text: string, max = 300) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export async function consoleView(sources: ConsoleSources, now = new Date()): Promise<ConsoleView> {
  const { config } = sources;
  const store = sources.store();
  const token = tokenStatus(config, now.getTime());
  const base = {
    generatedAt: now.toISOString(),
    health: sources.health(),
    running: sources.running(),
    next: sources.nextRuns(),
    token: describeToken(token, now.getTime()),
    receptions: config.sync.receptions,
  };
  if (!store) {
    const unknown: Reach = { ok: undefined, text: 'not known until start-up has opened the state' };
    return {
      ...base,
      lastSuccess: [],
      reach: { ident: unknown, amocrm: unknown },
      numbers: [],
      days: [],
      runs: [],
      records: [],
      namesMissing: 0,
      queue: { patients: [], receptions: [], retryFailed: false },
      queued: 0,
    };
  }
  const summary = stateSummary(store, config, { runs: 20, token });
  const deals = summary.deals;
  const queue = readQueue(store);
  const at = (run: RunRecord | undefined) => run?.endedAt ?? null;
  const lastSuccess = [
    { label: 'contacts, incremental', at: at(store.lastSuccess('incremental')) },
    { label: 'contacts, deep', at: at(store.lastSuccess('deep')) ?? at(store.lastSuccess('initial')) },
    ...(deals
      ? [
          { label: 'deals, any run', at: at(store.lastDealSuccess()) ?? deals.lastRun?.at ?? null },
          { label: 'deals, complete read', at: store.deals.fullReadAt()?.toISOString() ?? null },
        ]
      : []),
  ];
  const numbers: ConsoleView['numbers'] = [
    { label: 'patients in IDENT', value: await sources.patients().catch(() => undefined) },
    { label: 'contacts linked', value: summary.linkedContacts },
    { label: 'patients failing', value: summary.openFailures, warn: summary.openFailures > 0 },
    { label: 'refused values', value: summary.refusedFields, warn: summary.refusedFields > 0 },
    { label: 'contact creates to confirm', value: summary.pendingCreates },
    ...(deals
      ? [
          { label: 'deals linked', value: deals.linkedDeals },
          { label: 'receptions failing', value: deals.openFailures, warn: deals.openFailures > 0 },
          { label: 'refused deal values', value: deals.refusedFields, warn: deals.refusedFields > 0 },
          { label: 'deal creates to confirm', value: deals.pendingCreates },
        ]
      : []),
  ];
  return {
    ...base,
    lastSuccess,
    reach: reachability(summary.runs),
    numbers,
    days: dayTotals(store.runsSince(new Date(now.getTime() - HISTORY_DAYS * DAY_MS)), now),
    runs: summary.runs,
    ...(await records(store, sources, accountUrl(config, token))),
    queue,
    queued: queuedCount(queue),
  };
}

function accountUrl(config: Config, token: TokenStatus): string | undefined {
  const url = config.amocrm.baseUrl ?? (token.kind === 'oauth' ? token.account : undefined);
  return url?.replace(/\/+$/, '');
}

function describeToken(token: TokenStatus, now: number): { text: string; warn: boolean } {
  if (token.kind === 'long-lived') return { text: 'long-lived token (AMOCRM_LONG_LIVED_TOKEN)', warn: false };
  if (token.kind === 'none') return { text: 'none: run `ident-sync auth`', warn: true };
  const expires = Date.parse(token.accessTokenExpiresAt);
  const refreshLeft = 90 - token.refreshTokenAgeDays;
  return {
    text: `access token ${expires > now ? 'expires' : 'expired'} ${token.accessTokenExpiresAt.slice(0, 16).replace('T', ' ')} UTC (renewed automatically); refresh token ${token.refreshTokenAgeDays} day(s) old, about ${Math.max(0, refreshLeft)} day(s) left`,
    warn: refreshLeft <= 7,
  };
}

const KINDS_OF = { ident: IDENT_KINDS, amocrm: AMOCRM_KINDS };

/** Each side as the latest run saw it: reached when a run went well since its last error. */
function reachability(runs: readonly RunRecord[]): { ident: Reach; amocrm: Reach } {
  const finished = runs.filter((run) => run.outcome !== 'running');
  const side = (source: 'ident' | 'amocrm', name: string): Reach => {
    for (const run of finished) {
      if (run.outcome === 'ok' && (run.deals === null || run.deals.outcome === 'ok'))
        return {
          ok: true,
          text: `reached by the last run (${run.endedAt?.slice(0, 16).replace('T', ' ')} UTC)`,
        };
      if (run.outcome === 'failed' && run.errorKind && KINDS_OF[source].has(run.errorKind))
        return { ok: false, text: sentence(run.error ?? `the last run could not use ${name}`) };
    }
    return { ok: undefined, text: 'no run has finished yet' };
  };
  return { ident: side('ident', 'IDENT'), amocrm: side('amocrm', 'amoCRM') };
}

/** The last 14 days' runs, per UTC day, oldest first; days without a run count zero. */
export function dayTotals(runs: readonly RunRecord[], now: Date): DayTotals[] {
  const days = new Map<string, DayTotals>();
  for (let back = HISTORY_DAYS - 1; back >= 0; back--) {
    const day = new Date(now.getTime() - back * DAY_MS).toISOString().slice(0, 10);
    days.set(day, { day, runs: 0, durationMinutes: 0, writes: 0, failures: 0 });
  }
  for (const run of runs) {
    const totals = days.get(run.startedAt.slice(0, 10));
    if (!totals) continue;
    totals.runs += 1;
    if (run.endedAt) totals.durationMinutes += (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 60_000;
    totals.writes += run.created + run.updated + run.linked + run.repaired + (run.deals?.written ?? 0);
    totals.failures += run.failed + (run.deals?.failed ?? 0) + (run.outcome === 'failed' ? 1 : 0);
  }
  return [...days.values()];
}

async function records(
  store: StateStore,
  sources: ConsoleSources,
  account: string | undefined,
): Promise<{ records: RecordRow[]; namesMissing: number }> {
  const rows: RecordRow[] = [];
  const failures = store.failures(RECORDS);
  const refusals = store.fieldRefusals(RECORDS);
  const dealFailures = store.deals.failures(RECORDS);
  const dealRefusals = store.deals.refusals(RECORDS);
  const dealLinks = store.deals.links([
    ...new Set([...dealFailures, ...dealRefusals].map((entry) => entry.receptionId)),
  ]);
  const patientIds = [
    ...new Set([
      ...failures.map((entry) => entry.patientId),
      ...refusals.map((entry) => entry.patientId),
      ...[...dealLinks.values()].map((link) => link.patientId),
    ]),
  ];
  const links = store.links(patientIds);
  const { names, missing } = await sources
    .names(patientIds)
    .catch(() => ({ names: new Map<string, string>(), missing: patientIds.length }));
  const contactUrl = (patientId: string) => {
    const contactId = links.get(patientId)?.contactId;
    return account && contactId !== undefined ? `${account}/contacts/detail/${contactId}` : undefined;
  };
  const dealUrl = (receptionId: string) => {
    const leadId = dealLinks.get(receptionId)?.leadId;
    return account && leadId !== undefined ? `${account}/leads/detail/${leadId}` : undefined;
  };
  for (const failure of failures)
    rows.push({
      what: 'patient',
      problem: failure.attempts === 0 ? 'queued' : 'failing',
      id: failure.patientId,
      name: names.get(failure.patientId),
      reason: sentence(failure.reason),
      link: contactUrl(failure.patientId),
      since: failure.firstAt,
    });
  for (const refusal of refusals)
    rows.push({
      what: 'patient',
      problem: 'refused',
      id: refusal.patientId,
      name: names.get(refusal.patientId),
      field: refusal.field,
      reason: sentence(`amoCRM refused the value of ${refusal.field}: ${refusal.detail}`),
      link: contactUrl(refusal.patientId),
      since: refusal.at,
    });
  const dealName = (receptionId: string) => {
    const patientId = dealLinks.get(receptionId)?.patientId;
    return patientId === undefined ? undefined : names.get(patientId);
  };
  for (const failure of dealFailures)
    rows.push({
      what: 'reception',
      problem: failure.attempts === 0 ? 'queued' : 'failing',
      id: failure.receptionId,
      name: dealName(failure.receptionId),
      reason: sentence(failure.reason),
      link: dealUrl(failure.receptionId),
      since: failure.firstAt,
    });
  for (const refusal of dealRefusals)
    rows.push({
      what: 'reception',
      problem: 'refused',
      id: refusal.receptionId,
      name: dealName(refusal.receptionId),
      field: refusal.field,
      reason: sentence(`amoCRM refused the deal's ${refusal.field}: ${refusal.detail}`),
      link: dealUrl(refusal.receptionId),
      since: refusal.at,
    });
  return { records: rows, namesMissing: missing };
}
