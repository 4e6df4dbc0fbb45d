import { loadConfig } from '../../src/config/config.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { CreateTask } from '../../src/daemon/schedule.ts';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingFields } from '../../src/fields/ensure-fields.ts';
import { type Logger, silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { longLivedClient, startEmulator, tempDir } from '../helpers/amocrm.ts';
import { shippedMap } from '../helpers/map.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';

export const REFUSED_PATIENT = '9501';
const TOKEN = 'console-test-token-0123456789';

/** The emulator's PHONE field loses (or gets back) the option the map sends IDENT's mobile with. */
const removed = new WeakMap<AmoCrmEmulator, { id: number; value: string; sort: number }>();
export function setMobileOption(emulator: AmoCrmEmulator, present: boolean): void {
  const phone = [...emulator.fields.values()].find((field) => field.code === 'PHONE')!;
  const mobile = (phone.enums ?? []).find((option) => option.value === 'MOB');
  const others = (phone.enums ?? []).filter((option) => option !== mobile);
  if (mobile) removed.set(emulator, mobile);
  phone.enums = present ? [...others, mobile ?? removed.get(emulator)!] : others;
}

export const contactPhones = (emulator: AmoCrmEmulator, contactId: number) =>
  (emulator.contacts.get(contactId)?.custom_fields_values ?? [])
    .find((field) => field.field_code === 'PHONE')
    ?.values.map((value) => String(value.value)) ?? [];

/**
 * The real daemon against the emulator, with three patients in memory and a schedule that never
 * ticks by itself: runs come from start-up and the console's actions only.
 */
export async function consoleDaemon(
  options: { source?: MemorySource; env?: Record<string, string>; logger?: Logger } = {},
) {
  const emulator = await startEmulator();
  emulator.addLongLivedToken(TOKEN);
  await createMissingFields(shippedMap(), longLivedClient(emulator).fields);
  const stateDir = tempDir('ident-sync-console-');
  const config = loadConfig({
    AMOCRM_BASE_URL: emulator.baseUrl,
    AMOCRM_LONG_LIVED_TOKEN: TOKEN,
    STATE_DIR: stateDir,
    HEALTH_PORT: '0',
    HEALTH_HOST: '127.0.0.1',
    ...options.env,
  });
  const logger = options.logger ?? silentLogger();
  const source =
    options.source ??
    new MemorySource([
      {
        ...syntheticPatient(9501, T0),
        Surname: 'Иванова',
        Name: 'Мария',
        MobilePhone: '89160000501',
        Phone: null,
      },
      syntheticPatient(9502, T0),
      syntheticPatient(9503, T0),
    ]);
  const store = new StateStore(stateDir);
  const client = longLivedClient(emulator);
  const idle: CreateTask = () => ({ start() {}, destroy() {}, getNextRun: () => null });
  const daemon = new Daemon({
    config,
    logger,
    anyHealthPort: true,
    createTask: idle,
    openContext: () => openSyncContext(config, logger, { client, source, store }),
  });
  await daemon.start();
  const finishedRuns = () => store.lastRuns(1000).filter((run) => run.outcome !== 'running').length;
  /** Waits until `count` runs have finished (no time limit of its own: the test's timeout is the bound). */
  const waitForRuns = async (count: number) => {
    while (finishedRuns() < count) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  await waitForRuns(1);
  return {
    emulator,
    source,
    store,
    daemon,
    stateDir,
    url: `http://127.0.0.1:${daemon.healthPort}/console`,
    finishedRuns,
    waitForRuns,
    contactOf: (patientId: string) => store.link(patientId)!.contactId,
    async stop() {
      await daemon.stop();
      await emulator.stop();
    },
  };
}
