import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorKindOf } from '../../src/alerts/error-kind.ts';
import { scrub } from '../../src/alerts/message.ts';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import { REFUSED_SETTLE_MS } from '../../src/alerts/rules.ts';
import { AmoCrmError, blockedError } from '../../src/amocrm/errors.ts';
import { TokenStore } from '../../src/amocrm/token-store.ts';
import type { AlertRulesConfig } from '../../src/config/config.ts';
import { IdentDbError } from '../../src/ident/errors.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { onlyRules, RecordingChannel, recordRun } from './helpers.ts';

const MINUTE = 60_000;

function setup(
  rules: Partial<AlertRulesConfig>,
  options: { longLivedToken?: string; stateDir?: string; baseUrl?: string } = {},
) {
  const stateDir = options.stateDir ?? tempDir('alerts-');
  const baseUrl = 'baseUrl' in options ? options.baseUrl : 'https://clinic.amocrm.ru';
  const store = new StateStore(stateDir);
  const clock = new VirtualClock();
  const channel = new RecordingChannel();
  const open = () =>
    new AlertMonitor({
      config: {
        alerts: { rules: onlyRules(rules), channels: {} },
        stateDir,
        amocrm: { baseUrl, longLivedToken: options.longLivedToken } as never,
      },
      logger: silentLogger(),
      store,
      channels: [channel],
      clock,
    });
  const monitor = open();
  const events = () => channel.sent.map((message) => `${message.event} ${message.rule}`);
  return { stateDir, store, clock, channel, monitor, open, events, t0: clock.now() };
}

const jwt = (exp: number) =>
  ['e30', Buffer.from(JSON.stringify({ exp: Math.floor(exp / 1000) })).toString('base64url'), 'sig'].join(
    '.',
  );

describe('alert rules', () => {
  it('N runs failed in a row: one message at the Nth, none more while it lasts, one recovery', async () => {
    const { store, clock, monitor, events, t0 } = setup({ failedRuns: 3 });
    recordRun(store, t0 - 10 * MINUTE, 'ok');
    recordRun(store, t0 - 4 * MINUTE, 'failed', 'other');
    recordRun(store, t0 - 2 * MINUTE, 'failed', 'other');
    await monitor.evaluate();
    assert.deepEqual(events(), []);
    recordRun(store, clock.now(), 'failed', 'ident-unreachable', { error: 'cannot connect to SQL Server' });
    await monitor.evaluate();
    recordRun(store, clock.now() + MINUTE, 'failed', 'other');
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened failed-runs']);
    recordRun(store, clock.now() + 2 * MINUTE, 'ok');
    await monitor.evaluate();
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened failed-runs', 'recovered failed-runs']);
  });

  it('no successful run for X minutes, counted from the last success (or from when watching began)', async () => {
    const { store, clock, monitor, events, t0 } = setup({ noSuccessMinutes: 60 });
    recordRun(store, t0 - MINUTE, 'ok'); // ended at t0
    await clock.advance(59 * MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), []);
    await clock.advance(2 * MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened no-success']);
    recordRun(store, clock.now(), 'ok');
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened no-success', 'recovered no-success']);

    const fresh = setup({ noSuccessMinutes: 30 });
    await fresh.monitor.evaluate();
    recordRun(fresh.store, fresh.clock.now(), 'failed', 'other');
    await fresh.clock.advance(31 * MINUTE);
    await fresh.monitor.evaluate();
    assert.deepEqual(fresh.events(), ['opened no-success']);
    assert.match(fresh.channel.sent[0]!.reason, /no sync run has succeeded yet \(31 minutes\)/);
  });

  it('the long-lived token expires within the days set; a refused token opens the same rule', async () => {
    const later = setup({ tokenDays: 7 }, { longLivedToken: jwt(Date.UTC(2026, 11, 1)) });
    await later.monitor.evaluate();
    assert.deepEqual(later.events(), [], 'nine days left');

    const soon = setup({ tokenDays: 7 }, { longLivedToken: jwt(Date.UTC(2026, 10, 28)) });
    await soon.monitor.evaluate();
    assert.deepEqual(soon.events(), ['opened token']);
    assert.match(
      soon.channel.sent[0]!.reason,
      /long-lived token expires on 2026-11-28 00:00 UTC; issue a new one/,
    );

    const refused = setup({ tokenDays: 7 });
    recordRun(refused.store, refused.t0, 'failed', 'token', { error: 'amoCRM refused the long-lived token' });
    await refused.monitor.evaluate();
    recordRun(refused.store, refused.t0 + MINUTE, 'ok');
    await refused.monitor.evaluate();
    assert.deepEqual(refused.events(), ['opened token', 'recovered token']);
  });

  it('an OAuth pair not renewed for close to three months opens the token rule', async () => {
    const stateDir = tempDir('alerts-');
    const clock = new VirtualClock();
    new TokenStore(stateDir).write({
      baseUrl: 'https://clinic.amocrm.ru',
      accessToken: 'access-token-abcdef',
      refreshToken: 'refresh-token-abcdef',
      expiresAt: clock.now() - 80 * 86_400_000,
      obtainedAt: clock.now() - 84 * 86_400_000,
    });
    const { monitor, events, channel } = setup({ tokenDays: 7 }, { stateDir, baseUrl: undefined });
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened token']);
    assert.match(channel.sent[0]!.reason, /refresh token has not been renewed for 84 days/);
    assert.equal(channel.sent[0]!.source, 'clinic.amocrm.ru', 'the account host learned by `auth`');
    assert.doesNotMatch(JSON.stringify(channel.sent), /refresh-token-abcdef|access-token-abcdef/);
  });

  it('IDENT unreachable for X minutes; amoCRM failures in between neither clear nor extend it', async () => {
    const { store, clock, monitor, events, t0, channel } = setup({ unreachableMinutes: 15 });
    recordRun(store, t0 - MINUTE, 'ok');
    for (let minute = 0; minute <= 14; minute += 2)
      recordRun(store, t0 + minute * MINUTE, 'failed', 'ident-unreachable');
    await clock.advance(14 * MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), []);
    recordRun(store, t0 + 16 * MINUTE, 'failed', 'blocked');
    await clock.advance(2 * MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened ident-unreachable']);
    assert.match(
      channel.sent[0]!.reason,
      /^IDENT has not answered for 16 minutes: failed: ident-unreachable$/,
    );
    recordRun(store, t0 + 18 * MINUTE, 'ok');
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened ident-unreachable', 'recovered ident-unreachable']);
  });

  it('amoCRM unreachable for X minutes, including a start-up that keeps failing', async () => {
    const { store, clock, monitor, events, t0 } = setup({ unreachableMinutes: 10 });
    const down = new AmoCrmError(
      'unavailable',
      'amoCRM did not answer after retries; the next run tries again',
    );
    await monitor.startupFailed(down);
    await clock.advance(6 * MINUTE);
    await monitor.startupFailed(down);
    assert.equal(store.lastRuns().length, 1, 'one start-up row per streak');
    assert.deepEqual(events(), []);
    await clock.advance(5 * MINUTE);
    await monitor.startupFailed(down);
    assert.deepEqual(events(), ['opened amocrm-unreachable']);
    recordRun(store, t0 + 12 * MINUTE, 'ok');
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened amocrm-unreachable', 'recovered amocrm-unreachable']);
  });

  it('the account blocked (403) or unpaid (402) opens at once; an IDENT failure says nothing about it; 403 becoming 402 is no recovery', async () => {
    const { store, monitor, events, t0, channel } = setup({ account: true });
    await monitor.startupFailed(blockedError(403));
    assert.deepEqual(events(), ['opened account-blocked']);
    assert.match(channel.sent[0]!.reason, /HTTP 403.*contact amoCRM support/);
    recordRun(store, t0 + MINUTE, 'failed', 'ident-unreachable');
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened account-blocked']);
    recordRun(store, t0 + 2 * MINUTE, 'failed', 'unpaid', {
      error: 'the amoCRM account is not paid (HTTP 402)',
    });
    await monitor.evaluate();
    // amoCRM refuses still, for another reason: the 403 incident closes without a "RECOVERED".
    assert.deepEqual(events(), ['opened account-blocked', 'opened account-unpaid']);
    recordRun(store, t0 + 3 * MINUTE, 'failed', 'amocrm-unreachable');
    await monitor.evaluate();
    assert.deepEqual(events().at(-1), 'opened account-unpaid', 'out of reach is no sign of being paid');
    recordRun(store, t0 + 4 * MINUTE, 'ok');
    await monitor.evaluate();
    assert.deepEqual(events().at(-1), 'recovered account-unpaid');
  });

  it('refused values growing by the number set opens; back to the floor for an hour clears it', async () => {
    const { store, monitor, events, channel, clock } = setup({ refusedGrowth: 3 });
    const refuse = (ids: string[]) =>
      store.saveLinks(
        ids.map((patientId, index) => ({
          patientId,
          contactId: 1000 + index,
          hash: 'h',
          phones: [],
          emails: [],
          ownedPhones: [],
          ownedEmails: [],
          refused: [{ field: 'BIRTHDAY', detail: 'not a date' }],
          landed: [],
        })),
      );
    refuse(['1']);
    await monitor.evaluate();
    refuse(['2', '3']);
    await monitor.evaluate();
    assert.deepEqual(events(), []);
    refuse(['4']);
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened refused-growing']);
    assert.match(
      channel.sent[0]!.reason,
      /amoCRM refused 3 more values than the fewest of the last 24 hours \(4 now stand unsent\)/,
    );
    store.endRefusals(['4']);
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened refused-growing'], 'two of the three new ones still stand');
    store.endRefusals(['2', '3']);
    await monitor.evaluate();
    await clock.advance(REFUSED_SETTLE_MS - MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened refused-growing'], 'back at the floor for less than an hour');
    await clock.advance(MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened refused-growing', 'recovered refused-growing']);
    refuse(['5', '6']);
    await monitor.evaluate();
    assert.equal(events().length, 2, 'growth counts again from what stood at the recovery');
  });

  it('a restart reads the open incident back: nothing is sent again', async () => {
    const first = setup({ account: true });
    await first.monitor.startupFailed(blockedError(403));
    await first.monitor.stop();
    first.store.close();
    const second = setup({ account: true }, { stateDir: first.stateDir });
    await second.monitor.startupFailed(blockedError(403));
    await second.monitor.evaluate();
    assert.deepEqual(first.events(), ['opened account-blocked']);
    assert.deepEqual(second.events(), []);
    assert.equal(second.store.incidents.open().length, 1);
  });

  it('a delivery that fails is sent again after 1, then 2 minutes, once; a recovery never overtakes its opening', async () => {
    const { store, monitor, channel, events, t0, clock } = setup({ account: true });
    channel.failNext = 1;
    await monitor.startupFailed(blockedError(403));
    assert.deepEqual(events(), []);
    recordRun(store, t0 + MINUTE, 'ok');
    channel.failNext = 1;
    await monitor.evaluate();
    assert.deepEqual(events(), [], 'within a minute of the failure nothing is tried');
    await clock.advance(MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), [], 'the second try failed too');
    await clock.advance(MINUTE);
    await monitor.evaluate();
    assert.deepEqual(events(), [], 'the second failure waits two minutes');
    await clock.advance(MINUTE);
    await monitor.evaluate();
    await monitor.evaluate();
    assert.deepEqual(events(), ['opened account-blocked', 'recovered account-blocked']);
    assert.deepEqual(store.incidents.owed(), []);
  });
});

describe('alert facts', () => {
  it('classifies failures by what a person must fix', () => {
    assert.equal(errorKindOf(new IdentDbError('unreachable', 'x')), 'ident-unreachable');
    assert.equal(errorKindOf(new IdentDbError('login', 'x')), 'ident-unreachable');
    assert.equal(errorKindOf(blockedError(403)), 'blocked');
    assert.equal(errorKindOf(new AmoCrmError('payment', 'x', { status: 402 })), 'unpaid');
    assert.equal(errorKindOf(new AmoCrmError('auth', 'x', { status: 401 })), 'token');
    assert.equal(errorKindOf(new AmoCrmError('unavailable', 'x')), 'amocrm-unreachable');
    assert.equal(errorKindOf(new AmoCrmError('forbidden', 'x')), 'other');
    assert.equal(errorKindOf(new Error('wrapped', { cause: blockedError(403) })), 'blocked');
    assert.equal(errorKindOf(new Error('x')), 'other');
    assert.equal(errorKindOf(undefined), 'other');
  });

  it('an alert carries no e-mail address or phone number, even one slipped into an error', () => {
    const text = scrub('amoCRM refused anna.petrova@example.ru and +7 (912) 345-67-89 for patient; HTTP 400');
    assert.doesNotMatch(text, /anna|petrova|912|345-67/);
    assert.match(text, /HTTP 400/);
  });
});

describe('alert gauges', () => {
  it('each evaluation sets the gauges Prometheus alerts on, from the state (so they survive a restart)', async () => {
    const { DaemonMetrics } = await import('../../src/daemon/metrics.ts');
    const stateDir = tempDir('alerts-');
    const store = new StateStore(stateDir);
    const clock = new VirtualClock();
    const metrics = new DaemonMetrics();
    const monitor = new AlertMonitor({
      config: {
        alerts: { rules: onlyRules({ account: true }), channels: {} },
        stateDir,
        amocrm: { baseUrl: undefined, longLivedToken: jwt(Date.UTC(2027, 0, 1)) } as never,
      },
      logger: silentLogger(),
      store,
      channels: [],
      metrics,
      clock,
    });
    recordRun(store, clock.now() - 10 * MINUTE, 'ok', undefined, { kind: 'deep' });
    recordRun(store, clock.now() - 4 * MINUTE, 'failed', 'ident-unreachable');
    await monitor.startupFailed(blockedError(403));
    const text = await metrics.registry.metrics();
    assert.match(text, /^ident_sync_consecutive_failed_runs 2$/m);
    assert.match(text, /^ident_sync_amocrm_refusing\{reason="blocked"\} 1$/m);
    assert.match(text, /^ident_sync_amocrm_refusing\{reason="unpaid"\} 0$/m);
    assert.match(text, /^ident_sync_reachable\{system="ident"\} 0$/m);
    assert.match(text, /^ident_sync_alert_open\{rule="account-blocked"\} 1$/m);
    assert.match(text, /^ident_sync_alert_open\{rule="failed-runs"\} 0$/m);
    assert.match(
      text,
      new RegExp(
        `^ident_sync_amocrm_token_expiry_timestamp_seconds\\{token="long-lived"\\} ${Date.UTC(2027, 0, 1) / 1000}$`,
        'm',
      ),
    );
    assert.match(
      text,
      new RegExp(
        `^ident_sync_last_success_timestamp_seconds\\{kind="deep"\\} ${(clock.now() - 9 * MINUTE) / 1000}$`,
        'm',
      ),
    );
  });
});

describe('alert timer', () => {
  it('weighs the rules every ALERT_CHECK_MINUTES without a run: no success for X minutes is noticed', async () => {
    const { monitor, clock, events } = setup({ noSuccessMinutes: 30 });
    monitor.start();
    await clock.advance(29 * MINUTE);
    assert.equal(monitor.evaluations, 29);
    assert.deepEqual(events(), []);
    await clock.advance(2 * MINUTE);
    assert.deepEqual(events(), ['opened no-success']);
    await clock.advance(10 * MINUTE);
    assert.deepEqual(events(), ['opened no-success']);
    await monitor.stop();
  });
});

describe('alert settings changed', () => {
  it('a rule turned off closes its open incident without a message', async () => {
    const on = setup({ account: true });
    await on.monitor.startupFailed(blockedError(403));
    on.store.close();
    const off = setup({ failedRuns: 5 }, { stateDir: on.stateDir });
    await off.monitor.evaluate();
    assert.deepEqual(off.events(), []);
    assert.deepEqual(off.store.incidents.open(), []);
    assert.deepEqual(off.store.incidents.owed(), []);
  });
});
