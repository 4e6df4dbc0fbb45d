import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { CreateTask } from '../../src/daemon/schedule.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { amoConfig, longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatients } from '../helpers/memory-source.ts';
import { type Received, startReceiver, until } from './helpers.ts';

/** A daemon over the emulator, a memory source and a state folder, alerting to `receiver`. */
function alertStack(emulator: AmoCrmEmulator, receiver: { url: string; received: Received[] }) {
  const stateDir = tempDir('alerts-e2e-');
  const token = `alerts-e2e-token-${Date.now()}-${Math.random()}`;
  emulator.addLongLivedToken(token);
  const config = loadConfig({
    AMOCRM_BASE_URL: emulator.baseUrl,
    AMOCRM_LONG_LIVED_TOKEN: token,
    STATE_DIR: stateDir,
    HEALTH_PORT: '0',
    ALERT_WEBHOOK_URL: `${receiver.url}/hook`,
    ALERT_WEBHOOK_SECRET: 'hook-secret-0123456789',
  });
  const patients = syntheticPatients(20, 70_000);
  const source = new MemorySource(patients);
  /** One daemon process from start to stop; `during` runs once it is started, `createTask` arms its schedule. */
  const daemonRun = async (
    check: (daemon: Daemon) => boolean,
    what: string,
    options: { createTask?: CreateTask; during?: (daemon: Daemon) => Promise<void> } = {},
  ) => {
    const store = new StateStore(stateDir);
    // A new process: a limiter of its own, which has not seen the block.
    const client = createAmoClient(amoConfig(emulator, { longLivedToken: token }), stateDir, silentLogger(), {
      retryBaseMs: 20,
      rateLimitBaseMs: 50,
      limiter: new RateLimiter(6),
    });
    const daemon = new Daemon({
      config,
      logger: silentLogger(),
      openContext: () => openSyncContext(config, silentLogger(), { client, source, store }),
      ...(options.createTask ? { createTask: options.createTask } : {}),
    });
    try {
      await daemon.start();
      await options.during?.(daemon);
      await until(() => check(daemon), what);
    } finally {
      await daemon.stop();
    }
  };
  const events = () =>
    receiver.received.map((request) => {
      const body = JSON.parse(request.body) as { event: string; rule: string };
      return `${body.event} ${body.rule}`;
    });
  return { stateDir, patients, daemonRun, events };
}

/** A schedule that ticks only when the test says: `tick()` fires the incremental slot. */
function manualSchedule() {
  const runs = new Map<string, () => void>();
  const createTask: CreateTask = (_expression, run, options) => {
    runs.set(options.name, run);
    return { start: () => undefined, destroy: () => undefined, getNextRun: () => null };
  };
  return { createTask, tick: () => runs.get('incremental')!() };
}

describe('alerts end to end: the daemon, the emulator answering 403, a webhook receiver', () => {
  let emulator: AmoCrmEmulator;
  before(async () => {
    emulator = await startEmulator();
    await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
  });
  after(async () => {
    await emulator.stop();
  });

  it('one message on failure, none repeated after a restart, one recovery when amoCRM answers again', async () => {
    const receiver = await startReceiver();
    const { stateDir, patients, daemonRun, events } = alertStack(emulator, receiver);
    try {
      emulator.blocked = true;
      await daemonRun(() => receiver.received.length >= 1, 'the alert');
      assert.deepEqual(events(), ['opened account-blocked']);

      // The same refusal after a restart: the incident is in the state, nothing is sent again.
      await daemonRun((daemon) => (daemon.alerts?.evaluations ?? 0) >= 1, 'an evaluation after the restart');
      assert.deepEqual(events(), ['opened account-blocked']);

      emulator.unblock();
      await daemonRun(() => receiver.received.length >= 2, 'the recovery');
      assert.deepEqual(events(), ['opened account-blocked', 'recovered account-blocked']);

      const first = receiver.received[0]!;
      assert.equal(first.path, '/hook');
      assert.equal(first.headers['x-alert-secret'], 'hook-secret-0123456789');
      const body = JSON.parse(first.body) as Record<string, string>;
      assert.equal(body.title, 'amoCRM blocks this integration (403)');
      assert.match(body.reason!, /HTTP 403/);
      assert.equal(body.source, new URL(emulator.baseUrl!).host);
      const sent = receiver.received.map((request) => request.body).join('\n');
      for (const patient of patients) {
        for (const value of Object.values(patient))
          if (typeof value === 'string' && value.length >= 5)
            assert.ok(!sent.includes(value), 'no personal data in an alert');
      }
      const store = new StateStore(stateDir);
      assert.deepEqual(store.incidents.owed(), []);
      assert.deepEqual(store.incidents.open(), []);
      store.close();
    } finally {
      emulator.unblock();
      await receiver.close();
    }
  });

  it('amoCRM starting to answer 403 while the daemon runs: one alert from the failed run, one recovery after the restart', async () => {
    const receiver = await startReceiver();
    const { daemonRun, events, stateDir } = alertStack(emulator, receiver);
    const schedule = manualSchedule();
    try {
      await daemonRun(
        (daemon) => receiver.received.length >= 1 && (daemon.alerts?.evaluations ?? 0) >= 2,
        'the alert from a run',
        {
          createTask: schedule.createTask,
          during: async (daemon) => {
            await until(() => /last initial sync ok/.test(daemon.status.reason), 'the initial sync');
            emulator.blocked = true;
            schedule.tick();
          },
        },
      );
      assert.deepEqual(events(), ['opened account-blocked']);
      const store = new StateStore(stateDir);
      const [latest] = store.lastRuns(1);
      store.close();
      assert.equal(latest!.kind, 'incremental');
      assert.equal(latest!.errorKind, 'blocked');

      emulator.unblock();
      await daemonRun(() => receiver.received.length >= 2, 'the recovery');
      assert.deepEqual(events(), ['opened account-blocked', 'recovered account-blocked']);
    } finally {
      emulator.unblock();
      await receiver.close();
    }
  });
});
