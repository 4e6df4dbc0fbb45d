import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AmoClient, createAmoClient } from '../../src/amocrm/client.ts';
import { RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { TokenStore } from '../../src/amocrm/token-store.ts';
import type { AmoCrmConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { AmoCrmEmulator, type EmulatorOptions } from '../../src/emulator/server.ts';
import type { SystemStageNames } from '../../src/emulator/pipelines.ts';

// One limiter per emulator, as one process has one: clients made in a row share the pace.
const limiters = new WeakMap<AmoCrmEmulator, RateLimiter>();
export function sharedLimiter(emulator: AmoCrmEmulator, rps = 6): RateLimiter {
  let limiter = limiters.get(emulator);
  if (!limiter) {
    limiter = new RateLimiter(rps);
    limiters.set(emulator, limiter);
  }
  return limiter;
}

export const fastTuning = (emulator: AmoCrmEmulator) => ({
  retryBaseMs: 20,
  rateLimitBaseMs: 50,
  limiter: sharedLimiter(emulator),
});

export const tempDir = (prefix = 'ident-sync-') => mkdtempSync(join(tmpdir(), prefix));

let systemStages: SystemStageNames = 'russian';

/** The system stage names of every emulator this test file starts from now on (a suite run both ways). */
export function useSystemStages(names: SystemStageNames): void {
  systemStages = names;
}

export const systemStagesInUse = (): SystemStageNames => systemStages;

export async function startEmulator(options: EmulatorOptions = {}): Promise<AmoCrmEmulator> {
  return new AmoCrmEmulator({ systemStages, ...options }).start();
}

export function amoConfig(emulator: AmoCrmEmulator, overrides: Partial<AmoCrmConfig> = {}): AmoCrmConfig {
  return {
    baseUrl: emulator.baseUrl,
    domain: 'amocrm.ru',
    clientId: emulator.options.clientId,
    clientSecret: emulator.options.clientSecret,
    redirectUri: emulator.options.redirectUri,
    longLivedToken: undefined,
    timeoutMs: 2_000,
    rateLimitRps: 6,
    batchSize: 50,
    ...overrides,
  };
}

/** Settings for a server known only by its address and a long-lived token (a child process, the bench). */
export function longLivedConfig(
  baseUrl: string,
  token: string,
  overrides: Partial<AmoCrmConfig> = {},
): AmoCrmConfig {
  return {
    baseUrl,
    domain: 'amocrm.ru',
    clientId: undefined,
    clientSecret: undefined,
    redirectUri: 'http://localhost:8080/callback',
    longLivedToken: token,
    timeoutMs: 2_000,
    rateLimitRps: 6,
    batchSize: 50,
    ...overrides,
  };
}

/** A client with OAuth tokens obtained from the emulator through a real code exchange. */
export async function oauthClient(
  emulator: AmoCrmEmulator,
  overrides: Partial<AmoCrmConfig> = {},
  stateDir = tempDir(),
): Promise<{ client: AmoClient; stateDir: string; store: TokenStore }> {
  const config = amoConfig(emulator, overrides);
  const client = createAmoClient(config, stateDir, silentLogger(), fastTuning(emulator));
  const { OAuthEndpoint } = await import('../../src/amocrm/oauth.ts');
  const tokens = await new OAuthEndpoint(client.http, {
    clientId: config.clientId!,
    clientSecret: config.clientSecret!,
    redirectUri: config.redirectUri,
  }).exchangeCode(emulator.issueCode());
  const store = new TokenStore(stateDir);
  store.write(tokens);
  return { client, stateDir, store };
}

export function longLivedClient(
  emulator: AmoCrmEmulator,
  overrides: Partial<AmoCrmConfig> = {},
  stateDir = tempDir(),
): AmoClient {
  const token = `llt_${Math.random().toString(36).slice(2)}${Date.now()}`;
  emulator.addLongLivedToken(token);
  return createAmoClient(
    amoConfig(emulator, { longLivedToken: token, ...overrides }),
    stateDir,
    silentLogger(),
    fastTuning(emulator),
  );
}
