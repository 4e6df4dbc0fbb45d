import { Counter, Gauge, Registry } from 'prom-client';
import type { HttpStats } from '../amocrm/http.ts';
import type { DealSyncResult } from '../streams/deals/run.ts';
import type { SyncResult } from '../streams/contacts/run.ts';

const DEAL_ACTIONS = ['created', 'updated', 'moved', 'linked', 'unchanged', 'failed'] as const;

/** What /metrics exposes, in Prometheus text format. */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter;
  private readonly contacts: Counter;
  private readonly deals: Counter;
  private readonly dealRuns: Counter;
  private readonly lastSuccess: Gauge;
  private readonly lastCheckpointAdvance: Gauge;
  private readonly up: Gauge;
  /** What the alert rules weigh (src/alerts), set at each evaluation: deploy/prometheus/alerts.yml reads these. */
  readonly alertFacts: {
    consecutiveFailures: Gauge;
    tokenExpiry: Gauge;
    reachable: Gauge;
    amocrmRefusing: Gauge;
    refusedValues: Gauge;
    incidentOpen: Gauge;
  };
  private amocrmStats: (() => HttpStats | undefined) | undefined;
  private checkpointAdvancedAt: number | undefined;

  constructor() {
    const registers = [this.registry];
    this.runs = new Counter({
      name: 'ident_sync_runs_total',
      help: 'Sync runs by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.contacts = new Counter({
      name: 'ident_sync_contacts_total',
      help: 'Patients handled, by what was done',
      labelNames: ['action'],
      registers,
    });
    this.dealRuns = new Counter({
      name: 'ident_sync_deal_runs_total',
      help: 'Deal runs (SYNC_RECEPTIONS) by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.deals = new Counter({
      name: 'ident_sync_deals_total',
      help: 'Receptions handled, by what was done to their deal',
      labelNames: ['action'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'ident_sync_last_success_timestamp_seconds',
      help: 'When a run of this kind last ended successfully (Unix seconds)',
      labelNames: ['kind'],
      registers,
    });
    this.lastCheckpointAdvance = new Gauge({
      name: 'ident_sync_checkpoint_lag_seconds',
      help: 'Seconds since the checkpoint last moved forward (changes older than this are in amoCRM)',
      registers,
      collect: () => {
        if (this.checkpointAdvancedAt !== undefined)
          this.lastCheckpointAdvance.set((Date.now() - this.checkpointAdvancedAt) / 1000);
      },
    });
    this.up = new Gauge({ name: 'ident_sync_healthy', help: '1 when /healthz answers 200', registers });
    this.alertFacts = {
      consecutiveFailures: new Gauge({
        name: 'ident_sync_consecutive_failed_runs',
        help: 'Sync runs (and failed start-ups) failed in a row since the last success',
        registers,
      }),
      tokenExpiry: new Gauge({
        name: 'ident_sync_amocrm_token_expiry_timestamp_seconds',
        help: 'When the amoCRM long-lived token expires, or the refresh token lapses unless renewed (Unix seconds)',
        labelNames: ['token'],
        registers,
      }),
      reachable: new Gauge({
        name: 'ident_sync_reachable',
        help: '0 while the latest run that reached for IDENT or amoCRM found it unreachable, else 1',
        labelNames: ['system'],
        registers,
      }),
      amocrmRefusing: new Gauge({
        name: 'ident_sync_amocrm_refusing',
        help: '1 while amoCRM refuses the integration: blocked (403), unpaid (402) or token (401)',
        labelNames: ['reason'],
        registers,
      }),
      refusedValues: new Gauge({
        name: 'ident_sync_refused_values',
        help: 'Values amoCRM refused that stand unsent (contacts and deals)',
        registers,
      }),
      incidentOpen: new Gauge({
        name: 'ident_sync_alert_open',
        help: '1 while an alert incident of this rule is open',
        labelNames: ['rule'],
        registers,
      }),
    };
    const stat = (name: string, help: string, pick: (stats: HttpStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const stats = metricsSource();
          if (stats) this.set(pick(stats));
        },
      });
    const metricsSource = () => this.amocrmStats?.();
    stat(
      'ident_sync_amocrm_requests_total',
      'Requests sent to amoCRM since start',
      (stats) => stats.requests,
    );
    stat(
      'ident_sync_amocrm_write_requests_total',
      'Create and update requests sent to amoCRM since start',
      (stats) => stats.writeRequests,
    );
    stat(
      'ident_sync_amocrm_429_total',
      'amoCRM answers 429 (too many requests) since start',
      (stats) => stats.requests429,
    );
    stat('ident_sync_amocrm_retries_total', 'amoCRM requests retried since start', (stats) => stats.retries);
    for (const action of ['created', 'updated', 'linked', 'unchanged', 'failed'])
      this.contacts.inc({ action }, 0);
  }

  watchAmoCrm(stats: () => HttpStats | undefined): void {
    this.amocrmStats = stats;
  }

  recordRun(result: SyncResult, checkpointMoved: boolean): void {
    this.runs.inc({ kind: result.kind, outcome: result.outcome });
    for (const action of ['created', 'updated', 'linked', 'unchanged', 'failed'] as const) {
      this.contacts.inc({ action }, result[action]);
    }
    if (result.outcome === 'ok') this.lastSuccess.set({ kind: result.kind }, Date.now() / 1000);
    if (checkpointMoved) this.checkpointAdvancedAt = Date.now();
  }

  /** A run that threw instead of ending with an outcome. */
  recordCrash(kind: string): void {
    this.runs.inc({ kind, outcome: 'crashed' });
  }

  recordDealRun(result: DealSyncResult): void {
    this.dealRuns.inc({ kind: result.kind, outcome: result.outcome });
    for (const action of DEAL_ACTIONS) this.deals.inc({ action }, result[action]);
  }

  /** When a run of this kind last succeeded, as the state says (it survives a restart). */
  setLastSuccess(kind: string, at: Date): void {
    this.lastSuccess.set({ kind }, at.getTime() / 1000);
  }

  setHealthy(healthy: boolean): void {
    this.up.set(healthy ? 1 : 0);
  }
}
