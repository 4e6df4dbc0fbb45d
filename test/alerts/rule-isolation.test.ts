import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { AlertMonitor } from '../../src/alerts/monitor.ts';
import type { Rule } from '../../src/alerts/rules.ts';
import { tokenExpiry } from '../../src/alerts/token-expiry.ts';
import { TokenStore } from '../../src/amocrm/token-store.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { onlyRules, RecordingChannel, recordRun } from './helpers.ts';

describe('one rule that cannot be weighed', () => {
  it('is logged and skipped; the other rules still open their incidents', async () => {
    const stateDir = tempDir('alerts-isolated-');
    const store = new StateStore(stateDir);
    const clock = new VirtualClock();
    const channel = new RecordingChannel();
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      format: 'json',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }) as never,
    });
    const monitor = new AlertMonitor({
      config: {
        alerts: { rules: onlyRules({ failedRuns: 1, tokenDays: 7, noSuccessMinutes: 1 }), channels: {} },
        stateDir,
        amocrm: { baseUrl: 'https://clinic.amocrm.ru', longLivedToken: undefined } as never,
      },
      logger,
      store,
      channels: [channel],
      clock,
    });
    // The first rule weighed throws, as a bug in it would.
    const rules = (monitor as unknown as { rules: Rule[] }).rules;
    rules.find((rule) => rule.id === 'failed-runs')!.check = () => {
      throw new RangeError('Invalid time value');
    };
    recordRun(store, clock.now() - 120 * 60_000, 'ok');
    recordRun(store, clock.now() - 90 * 60_000, 'failed', 'other');
    await monitor.evaluate();
    await monitor.stop();
    store.close();
    assert.deepEqual(
      channel.sent.map((message) => `${message.event} ${message.rule}`),
      ['opened no-success'],
    );
    const skipped = lines.map((line) => JSON.parse(line) as { msg: string; rule?: string });
    assert.ok(
      skipped.some((line) => line.rule === 'failed-runs' && /could not be weighed/.test(line.msg)),
      lines.join(''),
    );
  });

  it('a token file with an absurd date gives no expiry rather than an invalid one', () => {
    const stateDir = tempDir('alerts-token-date-');
    new TokenStore(stateDir).write({
      baseUrl: 'https://clinic.amocrm.ru',
      accessToken: 'a',
      refreshToken: 'r',
      expiresAt: 1e16,
      obtainedAt: 1e16,
    });
    assert.equal(tokenExpiry(stateDir, undefined), undefined);
  });
});
