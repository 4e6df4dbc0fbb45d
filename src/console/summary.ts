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
    ...(config.chain ? { sources: sourceSummary(store, config) } : {}),
  };
}

/** The row of bare ids in a chain whose SOURCE_BARE_IDS names no source. */
export const BARE_WITHOUT_SOURCE = '(bare ids)';

/**
 * Each source of a chain: its linked patients, open failures and refused values, counted by the
 * key its ids carry (bare ids are the bare source's). Ids of a key SOURCES no longer names are
 * listed too, so a source removed from the chain does not vanish from sight.
 */
export function sourceSummary(store: StateStore, config: Config) {
  const counts = store.countsBySource();
  const bare = config.scopes.find((scope) => scope.bare)?.key;
  const keyOf = (prefix: string) => (prefix === '' ? bare : prefix);
  const rows = new Map<
    string,
    { key: string; bare: boolean; configured: boolean; linked: number; failures: number; refusals: number }
  >();
  const rowOf = (key: string) => {
    let row = rows.get(key);
    if (!row) {
      const scope = config.scopes.find((candidate) => candidate.key === key);
      row = {
        key,
        bare: scope?.bare ?? false,
        configured: scope !== undefined,
        linked: 0,
        failures: 0,
        refusals: 0,
      };
      rows.set(key, row);
    }
    return row;
  };
  for (const scope of config.scopes) rowOf(scope.key);
  for (const [field, table] of [
    ['linked', counts.links],
    ['failures', counts.failures],
    ['refusals', counts.refusals],
  ] as const)
    // Bare ids with no bare source: ids of the clinic that synced alone before SOURCE_BARE_IDS was set.
    for (const [prefix, n] of table) rowOf(keyOf(prefix) ?? BARE_WITHOUT_SOURCE)[field] += n;
  return [...rows.values()];
}

export type SourceSummary = ReturnType<typeof sourceSummary>;

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
