import { TokenStore } from '../amocrm/token-store.ts';
import type { Config } from '../config/config.ts';
import type { StateStore } from '../state/store.ts';

const DAY_MS = 86_400_000;

export type TokenStatus =
  | { kind: 'long-lived' }
  | { kind: 'none' }
  | {
      kind: 'oauth';
      account: string;
      accessTokenExpiresAt: string;
      refreshTokenObtainedAt: string;
      refreshTokenAgeDays: number;
    };

/** The amoCRM token in use, as `status` and the console show it. */
export function tokenStatus(config: Config, now = Date.now()): TokenStatus {
  if (config.amocrm.longLivedToken) return { kind: 'long-lived' };
  const tokens = new TokenStore(config.stateDir).read();
  if (!tokens) return { kind: 'none' };
  return {
    kind: 'oauth',
    account: tokens.baseUrl,
    accessTokenExpiresAt: new Date(tokens.expiresAt).toISOString(),
    // amoCRM's refresh token is single-use and lives about 3 months; the sync rotates it weekly.
    refreshTokenObtainedAt: new Date(tokens.obtainedAt).toISOString(),
    refreshTokenAgeDays: Math.floor((now - tokens.obtainedAt) / DAY_MS),
  };
}

/** What the state says of the sync: the numbers `ident-sync status` prints and the console shows. */
export function stateSummary(
  store: StateStore,
  config: Config,
  options: { runs: number; token: TokenStatus },
) {
  const mirror = store.mirror.state();
  return {
    stateDir: config.stateDir,
    checkpoint: store.checkpoint()?.at.toISOString() ?? null,
    linkedContacts: store.linkCount(),
    openFailures: store.failureCount(),
    failures: store.failures(10),
    pendingCreates: store.pendingCount(),
    vanishedContacts: store.vanishedCount(),
    refusedFields: store.fieldRefusalCount(),
    refusals: store.fieldRefusals(10).map(({ hash: _hash, ...refusal }) => refusal),
    duplicates: store.findingCount('duplicate'),
    orphans: store.findingCount('orphan'),
    mirror: { contacts: store.mirror.count(), lastFullListing: mirror.fullAt ?? null },
    lastSuccess: store.lastSuccess() ?? null,
    runs: store.lastRuns(options.runs),
    token: options.token,
    deals: dealSummary(store, config),
  };
}

export type StateSummary = ReturnType<typeof stateSummary>;

/** The deal side (SYNC_RECEPTIONS), when it is on or has ever run. */
export function dealSummary(store: StateStore, config: Config) {
  const lastRun = store.deals.lastRun();
  if (!config.sync.receptions && !lastRun) return null;
  const mirror = store.leadMirror.state();
  return {
    enabled: config.sync.receptions,
    checkpoint: store.deals.checkpoint()?.at.toISOString() ?? null,
    linkedDeals: store.deals.linkCount(),
    openFailures: store.deals.failureCount(),
    pendingCreates: store.deals.pendingCount(),
    refusedFields: store.deals.refusalCount(),
    deletedReceptions: store.deals.deletedCount(),
    deleted: store.deals.deletedReceptions(5),
    mirror: { deals: store.leadMirror.count(), lastFullListing: mirror.fullAt ?? null },
    lastRun: lastRun ?? null,
    failures: store.deals.failures(5),
    refusals: store.deals.refusals(5),
  };
}

export type DealSummary = NonNullable<ReturnType<typeof dealSummary>>;
