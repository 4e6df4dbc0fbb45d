import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { IdentDbError } from '../../src/ident/errors.ts';
import { AmoCrmError } from '../../src/amocrm/errors.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { startReceiver, until } from './helpers.ts';

const MINUTE = 60_000;

it('IDENT down at start-up for hours, then amoCRM 402 then 403: each alert once, no recovery without a sign of it', async () => {
  const receiver = await startReceiver();
  const stateDir = tempDir('alerts-startup-');
  const config = loadConfig({
    AMOCRM_BASE_URL: 'https://clinic.amocrm.ru',
    AMOCRM_LONG_LIVED_TOKEN: 'x'.repeat(40),
    STATE_DIR: stateDir,
    HEALTH_PORT: '0',
    ALERT_WEBHOOK_URL: `${receiver.url}/hook`,
  });
  const clock = new VirtualClock(Date.now());
  let failWith: () => Error = () =>
    new IdentDbError('unreachable', 'SQL Server at ident:1433 cannot be reached');
  let attempts = 0;
  const daemon = new Daemon({
    config,
    logger: silentLogger(),
    clock,
    retryMs: [30, 30],
    openContext: async () => {
      attempts += 1;
      throw failWith();
    },
  });
  const events = () =>
    receiver.received.map((r) => {
      const b = JSON.parse(r.body) as { event: string; rule: string };
      return `${b.event} ${b.rule}`;
    });
  const startP = daemon.start();
  try {
    // Hours of IDENT down: 10 minutes pass between attempts (both clocks move: time, not a step).
    for (let i = 0; i < 30; i++) {
      const before = attempts;
      await until(() => attempts > before, 'an attempt');
      await clock.advance(10 * MINUTE);
    }
    await until(() => events().includes('opened ident-unreachable'), 'the IDENT alert');
    // IDENT back; amoCRM answers 402 for a while
    failWith = () =>
      new AmoCrmError('payment', 'amoCRM refused GET /api/v4/account: HTTP 402', { status: 402 });
    for (let i = 0; i < 5; i++) {
      const before = attempts;
      await until(() => attempts > before, 'an attempt');
      await clock.advance(10 * MINUTE);
    }
    await until(() => events().includes('opened account-unpaid'), 'the 402 alert');
    failWith = () => new AmoCrmError('blocked', 'amoCRM answers 403 to every request', { status: 403 });
    await startP;
    await until(() => events().includes('opened account-blocked'), 'the 403 alert');
    // The start-up asks amoCRM before it opens IDENT (src/streams/runner/context.ts): a 402 or 403 says
    // nothing of IDENT, so its incident stays open until a run reaches IDENT; no false recovery.
    assert.deepEqual(
      events().filter((e) => e.includes('ident-unreachable')),
      ['opened ident-unreachable'],
    );
    assert.ok(
      !events().includes('recovered account-unpaid'),
      'a "paid again" recovery while amoCRM now answers 403',
    );
  } finally {
    await daemon.stop();
    await receiver.close();
  }
});
