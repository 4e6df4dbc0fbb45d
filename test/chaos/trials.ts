/**
 * Chaos trials: each breaks a sync in one way, lets it run again until it converges, and compares
 * amoCRM's final state with the map of the source (duplicates / missing / wrong must all be 0).
 */
import { mulberry32 } from '../../src/support/random.ts';
import { PAST_PENDING_WAIT_MS } from '../helpers/test-clock.ts';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { OAuthEndpoint } from '../../src/amocrm/oauth.ts';
import { RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { TokenStore } from '../../src/amocrm/token-store.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { Faults } from '../../src/emulator/server.ts';
import { amoConfig, fastTuning, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatients as patients } from '../helpers/memory-source.ts';
import { runSyncChild, syncChildEnv } from '../helpers/sync-child-process.ts';
import { compareWithSource, syncStack } from '../helpers/sync-stack.ts';
import {
  deletedPatchTrial,
  lagKillTrial,
  lostAnswerTrial,
  refusedBatchTrial,
  repairTrial,
} from './amocrm-trials.ts';
import { dealKillTrial, dealLostAnswerTrial } from './deal-trials.ts';
import {
  compare,
  completedOrKilled,
  passed,
  preparedEmulator,
  sleep,
  type TrialResult,
} from './trial-kit.ts';

export { passed, type TrialResult };

/** `kill -9` at a random moment of an initial sync in a real child process, then a restart to completion. */
export async function killTrial(index: number, count: number, random: () => number): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(1000 + index);
  try {
    const stateDir = tempDir();
    const env = syncChildEnv(emulator, token, stateDir, count);
    // An initial sync of `count` patients takes about count / 300 seconds at the default pace.
    const killAfter = Math.round(300 + random() * Math.max(500, (count / 300) * 1000 * 0.9));
    // A restart comes after a pause (the container's restart delay): two processes never share a second.
    await sleep(1100);
    const killAt = Date.now() + killAfter;
    const first = await completedOrKilled(runSyncChild(env, { killWhen: () => Date.now() >= killAt }));
    const landed = emulator.contacts.size;
    let runs = 1;
    for (; runs < 4; runs++) {
      await sleep(1100);
      // The first restart comes at once; later ones after a pending create's wait, as a daemon's would.
      await completedOrKilled(
        runSyncChild({ ...env, CLOCK_ELAPSED_MS: String((runs - 1) * PAST_PENDING_WAIT_MS) }),
      );
      const comparison = await compare(emulator, new MemorySource(patients(count)), token);
      if (comparison.missing === 0) break;
    }
    const comparison = await compare(emulator, new MemorySource(patients(count)), token);
    return {
      trial: `kill -9 #${index + 1}`,
      runs: runs + 1,
      detail: first.killed
        ? `killed after ${killAfter} ms with ${landed}/${count} in amoCRM`
        : `finished before the kill at ${killAfter} ms`,
      peakPerSecond: emulator.maxRequestsInAnySecond,
      blocked: emulator.blocked,
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}

export type FaultKind =
  '5xx' | 'timeouts' | '429 bursts' | 'token expiry' | 'refresh by another process' | 'everything';

/** Faults injected into the emulator during syncs of an OAuth client; runs repeat until they converge. */
export async function faultTrial(kind: FaultKind, count: number, seed: number): Promise<TrialResult> {
  const emulator = await startEmulator({ seed, accessTokenSeconds: 3600 });
  try {
    const stateDir = tempDir();
    // With a second process refreshing, the two share amoCRM's 7 per second: this one keeps to 5.
    const limiter = new RateLimiter(kind === 'refresh by another process' || kind === 'everything' ? 5 : 6);
    const tuning = { retryBaseMs: 50, rateLimitBaseMs: 300, limiter };
    const config = amoConfig(emulator, { timeoutMs: 1500 });
    const client = createAmoClient(config, stateDir, silentLogger(), tuning);
    const tokens = await new OAuthEndpoint(client.http, {
      clientId: config.clientId!,
      clientSecret: config.clientSecret!,
      redirectUri: config.redirectUri,
    }).exchangeCode(emulator.issueCode());
    new TokenStore(stateDir).write(tokens);
    const source = new MemorySource(patients(count));
    const stack = await syncStack(emulator, source, { client, stateDir });

    const faults: Partial<Faults> = {
      '5xx': { serverErrorRate: 0.1 },
      timeouts: { slowRate: 0.05, slowMs: 2500 },
      '429 bursts': {},
      'token expiry': {},
      'refresh by another process': {},
      everything: { serverErrorRate: 0.1, slowRate: 0.05, slowMs: 2500, dropRate: 0.02 },
    }[kind];
    let stopDisturbing = false;
    // The other process has one limiter for its life, like any ident-sync process.
    const otherLimiter = new RateLimiter(1);
    const disturbances = (async () => {
      // Things that happen while the sync runs: 429 bursts, tokens expiring, another process refreshing.
      while (!stopDisturbing) {
        await sleep(700);
        if (stopDisturbing) break;
        if (kind === '429 bursts' || kind === 'everything') {
          emulator.setFaults({ ...faults, tooManyRate: 1, retryAfterSeconds: 1 });
          await sleep(250);
          emulator.setFaults(faults);
        }
        if (kind === 'token expiry' || kind === 'everything') emulator.expireAccessTokens();
        if (kind === 'refresh by another process' || kind === 'everything') {
          // Another ident-sync on the same state folder (e.g. `ident-sync test`) refreshes first.
          emulator.expireAccessTokens();
          const other = createAmoClient(config, stateDir, silentLogger(), {
            ...tuning,
            limiter: otherLimiter,
          });
          await other.account().catch(() => undefined);
        }
      }
    })();
    emulator.setFaults(faults);
    let runs = 0;
    for (; runs < 8; runs++) {
      const result = await stack.run({ kind: 'deep' });
      if (result.outcome === 'ok' && result.failed === 0 && stack.store.pending().length === 0) break;
      if (result.error && /ident-sync auth/.test(result.error.message)) break;
    }
    stopDisturbing = true;
    await disturbances;
    emulator.setFaults({});
    const final = await stack.run({ kind: 'deep' });
    const comparison = await compareWithSource(emulator, source, stack);
    return {
      trial: `faults: ${kind}`,
      runs: runs + 2,
      detail: `final run ${final.outcome}; ${client.http.stats.retries} retries, ${client.http.stats.requests429} 429s, ${emulator.tokenCalls.refresh_token} refreshes`,
      peakPerSecond: emulator.maxRequestsInAnySecond,
      blocked: emulator.blocked,
      ...comparison,
    };
  } finally {
    await emulator.stop();
  }
}

/** The SQL source breaking mid-stream (connection drop or timeout); the next run picks up from the checkpoint. */
export async function sqlTrial(
  kind: 'connection drop' | 'query timeout',
  count: number,
  seed: number,
): Promise<TrialResult> {
  const { emulator, token } = await preparedEmulator(seed);
  try {
    const source = new MemorySource(patients(count));
    // Every client of this process shares one limiter, as one ident-sync process does.
    const client = createAmoClient(
      amoConfig(emulator, { longLivedToken: token }),
      tempDir(),
      silentLogger(),
      fastTuning(emulator),
    );
    const stack = await syncStack(emulator, source, { client });
    source.failure = Object.assign(
      new Error(
        kind === 'connection drop'
          ? 'the connection to SQL Server was lost during a read'
          : 'an IDENT query took longer than DB_REQUEST_TIMEOUT_SECONDS',
      ),
      { kind: kind === 'connection drop' ? 'dropped' : 'timeout' },
    );
    source.failAfter = Math.floor(count * (0.2 + (seed % 5) / 10));
    const broken = await stack.run();
    const checkpointAfterFailure = stack.store.checkpoint();
    source.tick(60_000);
    const next = await stack.run();
    const comparison = await compareWithSource(emulator, source, stack);
    return {
      trial: `SQL: ${kind}`,
      runs: 2,
      detail: `first run ${broken.outcome} after ${source.reads} reads, checkpoint ${checkpointAfterFailure ? 'moved (wrong)' : 'kept'}; next run ${next.outcome}`,
      peakPerSecond: emulator.maxRequestsInAnySecond,
      blocked: emulator.blocked,
      ...comparison,
      wrong: comparison.wrong + (checkpointAfterFailure ? 1 : 0),
    };
  } finally {
    await emulator.stop();
  }
}

export interface ChaosPlan {
  killTrials: number;
  faultKinds?: FaultKind[];
  sqlKinds?: ('connection drop' | 'query timeout')[];
  /** amoCRM as it really is (issue 11): all of them unless a list is given. */
  realityTrials?: RealityTrial[];
  killPatients: number;
  faultPatients: number;
  /** kill -9 during the deal creates (issue 14); 2 unless given. */
  dealKillTrials?: number;
  /** Deal create answers lost after the write; on unless false. */
  dealLostAnswers?: boolean;
  /** Patients of the deal trials (each with 4 receptions); a fifth of faultPatients unless given. */
  dealPatients?: number;
  concurrency: number;
  seed: number;
}

export const REALITY_TRIALS = [
  'lag kill',
  'lost answers',
  'refused batch',
  'deleted: validation',
  'deleted: bad-request',
  'deleted: not-found',
  'repair',
] as const;
export type RealityTrial = (typeof REALITY_TRIALS)[number];

function realityJob(name: RealityTrial, count: number, seed: number): () => Promise<TrialResult> {
  switch (name) {
    case 'lag kill':
      return () => lagKillTrial(seed);
    case 'lost answers':
      return () => lostAnswerTrial(count, seed);
    case 'refused batch':
      return () => refusedBatchTrial(count, seed);
    case 'repair':
      return () => repairTrial(count, seed);
    default:
      return () => deletedPatchTrial(name.slice('deleted: '.length) as 'validation', count, seed);
  }
}

/** All trials, `concurrency` at a time; each result is reported as it ends. */
export async function runChaos(
  plan: ChaosPlan,
  onResult: (result: TrialResult) => void = () => undefined,
): Promise<TrialResult[]> {
  // Kill moments spread evenly, reproducible from the seed.
  const random = mulberry32(plan.seed);
  const jobs: (() => Promise<TrialResult>)[] = [];
  for (let index = 0; index < plan.killTrials; index++) {
    const draw = random();
    jobs.push(() => killTrial(index, plan.killPatients, () => draw));
  }
  const faultKinds = plan.faultKinds ?? [
    '5xx',
    'timeouts',
    '429 bursts',
    'token expiry',
    'refresh by another process',
    'everything',
  ];
  faultKinds.forEach((kind, index) =>
    jobs.push(() => faultTrial(kind, plan.faultPatients, plan.seed + 10 + index)),
  );
  (plan.sqlKinds ?? ['connection drop', 'query timeout']).forEach((kind, index) =>
    jobs.push(() => sqlTrial(kind, plan.faultPatients, plan.seed + 30 + index)),
  );
  (plan.realityTrials ?? REALITY_TRIALS).forEach((name, index) =>
    jobs.push(realityJob(name, plan.faultPatients, plan.seed + 50 + index)),
  );
  const dealPatients = plan.dealPatients ?? Math.max(50, Math.round(plan.faultPatients / 5));
  for (let index = 0; index < (plan.dealKillTrials ?? 2); index++) {
    const draw = random();
    jobs.push(() => dealKillTrial(index, dealPatients, () => draw));
  }
  if (plan.dealLostAnswers ?? true) jobs.push(() => dealLostAnswerTrial(dealPatients, plan.seed + 70));

  const results: TrialResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, plan.concurrency) }, async () => {
      while (next < jobs.length) {
        const index = next++;
        const job = jobs[index]!;
        const result = await job().catch((error: unknown): TrialResult => ({
          trial: `trial ${index + 1}`,
          runs: 0,
          detail: `crashed: ${(error as Error).message}`,
          peakPerSecond: 0,
          blocked: false,
          duplicates: 0,
          missing: -1,
          wrong: 0,
          extra: 0,
        }));
        results.push(result);
        onResult(result);
      }
    }),
  );
  return results;
}
