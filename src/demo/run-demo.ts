import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAmoClient } from '../amocrm/client.ts';
import { statusReport } from '../cli/commands/status.ts';
import { loadConfig } from '../config/config.ts';
import { Daemon } from '../daemon/daemon.ts';
import type { CreateTask } from '../daemon/schedule.ts';
import { AmoCrmEmulator } from '../emulator/server.ts';
import { createMissingFields } from '../fields/ensure-fields.ts';
import { createMissingPipelines } from '../fields/ensure-pipelines.ts';
import { loadDealMapAndSql, loadMapAndSql } from '../ident/map-check.ts';
import type { Logger } from '../logging/logger.ts';
import { offsetMinutes } from '../mapping/transforms/dates.ts';
import { openSyncContext } from '../streams/runner/context.ts';
import { zonedText } from '../support/zoned-time.ts';
import { GeneratedSource } from './clinic.ts';
import { GeneratedReceptions } from './receptions.ts';
import { demoStateDir } from './state-dir.ts';

export interface DemoOptions {
  patients: number;
  /** Synthetic receptions made deals (SYNC_RECEPTIONS=true); 0: contacts only. */
  receptions: number;
  minutes: number;
  /** Preferred ports; a busy one is replaced by a free one. */
  emulatorPort: number;
  healthPort: number;
  stateDir?: string;
  /** Keep the emulator serving after the demo, until Ctrl-C. */
  keep: boolean;
  /** Seconds between incremental runs. */
  tickSeconds: number;
  timeZone: string;
  logger: Logger;
  out: (line?: string) => void;
}

const TOKEN = 'demo-long-lived-token';

/**
 * The daemon's main job, watched on one machine with no account and no database: an amoCRM
 * emulator in this process, a synthetic clinic as the patient source (the one the benchmark uses),
 * the 26 fields created, and the real daemon — its schedule ticking every `tickSeconds` instead of
 * every few minutes — running the initial sync, incremental runs while the clinic changes (a few
 * patients edited, one registered, one phone removed), and a deep sync before the end. With
 * receptions, each run also makes them deals in the two pipelines, and the clinic books, completes
 * and cancels visits between runs.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  // Checked before anything starts: a refused folder is one sentence, and nothing is left running.
  const state = demoStateDir(options.stateDir);
  let emulator: AmoCrmEmulator | undefined;
  try {
    emulator = await new AmoCrmEmulator({
      port: await freeOr(options.emulatorPort),
      longLivedTokens: [TOKEN],
      timeZone: options.timeZone,
    }).start();
    return await demoWith(emulator, state.path, options);
  } finally {
    // On every path, an error included: a serving emulator would keep the process alive.
    await emulator?.stop();
    state.cleanUp();
  }
}

async function demoWith(emulator: AmoCrmEmulator, stateDir: string, options: DemoOptions): Promise<number> {
  const { out, logger } = options;
  const healthPort = await freeOr(options.healthPort);
  const config = loadConfig({
    AMOCRM_BASE_URL: emulator.baseUrl,
    AMOCRM_LONG_LIVED_TOKEN: TOKEN,
    STATE_DIR: stateDir,
    HEALTH_PORT: String(healthPort),
    HEALTH_HOST: '127.0.0.1',
    TZ: options.timeZone,
    SYNC_RECEPTIONS: options.receptions > 0 ? 'true' : 'false',
  });
  process.env.SQLITE_TMPDIR ??= stateDir;
  out('DEMO — synthetic patients and an emulated amoCRM on this machine: no account, no database;');
  out('        nothing leaves 127.0.0.1. Every name, phone and document below is invented.');
  out(
    `amoCRM emulator:  ${emulator.baseUrl}/  (the contacts in a browser${options.receptions > 0 ? `; the deals at ${emulator.baseUrl}/__emulator/leads` : ''})`,
  );
  out(
    `console:          http://127.0.0.1:${healthPort}/console  (runs, numbers, history, per-patient errors)`,
  );
  out(`health, metrics:  http://127.0.0.1:${healthPort}/healthz, http://127.0.0.1:${healthPort}/metrics`);
  out(
    `state folder:     ${stateDir}${options.stateDir === undefined ? ' (removed when the demo ends)' : ''}`,
  );
  out(
    `clinic:           ${options.patients} synthetic patients${options.receptions > 0 ? `, ${options.receptions} receptions` : ''}; a run every ${options.tickSeconds} s, a deep sync before the end (${options.minutes} min)`,
  );
  out();

  const client = createAmoClient(config.amocrm, stateDir, logger);
  const fields = await createMissingFields(loadMapAndSql(config).map, client.fields);
  out(
    `fields:           ${fields.created.length} of the map's ${fields.checks.length} contact fields created in the emulator`,
  );

  const deals = config.sync.receptions ? loadDealMapAndSql(config).map : undefined;
  if (deals) {
    const dealFields = await createMissingFields(deals, client.leadFields, 'deal');
    const pipelines = await createMissingPipelines(deals, client.pipelines);
    out(
      `deals:            ${dealFields.created.length} deal fields and the pipelines ${pipelines.created.map((name) => `«${name}»`).join(', ')} created; deals follow the contacts in every run`,
    );
  }

  // IDENT's clock is the clinic's wall clock (as SQL Server's SYSDATETIME hands it over), not UTC.
  const identNow = () => wallClockNow(options.timeZone).getTime();
  const source = new GeneratedSource(options.patients);
  source.clock = new Date(identNow());
  source.realTime = identNow;
  const receptions = deals
    ? new GeneratedReceptions(
        options.receptions,
        { count: options.patients, firstId: source.firstId },
        // The synthetic history around today, so the deep sync's window (90 days back) holds it.
        { clock: source.clock, t0: wallClockNow(options.timeZone) },
      )
    : undefined;
  if (receptions) receptions.realTime = identNow;
  let deepTick: (() => void) | undefined;
  let ending = false;
  let running = 0;
  let lastTickAt = 0;
  const createTask: CreateTask = (_expression, run, task) => {
    let timer: NodeJS.Timeout | undefined;
    return {
      runs:
        task.name === 'incremental'
          ? `every ${options.tickSeconds} s (the demo's pace)`
          : `once, ${Math.round(deepBeforeEndMs(options.minutes) / 1000)} s before the demo ends`,
      start() {
        if (task.name === 'incremental')
          timer = setInterval(() => {
            if (ending) return;
            lastTickAt = Date.now();
            run();
          }, options.tickSeconds * 1000);
        else deepTick = run;
      },
      destroy() {
        clearInterval(timer);
      },
      getNextRun: () =>
        task.name === 'incremental' && lastTickAt > 0
          ? new Date(lastTickAt + options.tickSeconds * 1000)
          : null,
    };
  };
  const daemon = new Daemon({
    config,
    logger,
    createTask,
    // Runs are counted, so the demo ends between two of them rather than stopping one midway.
    openContext: async () => {
      const context = await openSyncContext(config, logger, { client, source, receptions });
      return {
        ...context,
        async syncAll(...args: Parameters<typeof context.syncAll>) {
          running += 1;
          try {
            return await context.syncAll(...args);
          } finally {
            running -= 1;
          }
        },
      };
    },
  });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const startedAt = Date.now();
  let deepDone = false;
  try {
    await daemon.start();
    const endAt = Date.now() + options.minutes * 60_000;
    const deepAt = endAt - deepBeforeEndMs(options.minutes);
    let nextEdit = Date.now() + (options.tickSeconds * 1000) / 2;
    let deepAsked = false;
    const demoBookings = new Set<number>();
    while (!stop.signal.aborted && Date.now() < endAt + 60_000) {
      if (!deepAsked && Date.now() >= nextEdit && Date.now() < deepAt) {
        out(`IDENT (synthetic): ${changeClinic(source, options.timeZone)}`);
        if (receptions) out(`IDENT (synthetic): ${changeVisits(receptions, demoBookings, options.timeZone)}`);
        nextEdit += options.tickSeconds * 1000;
      }
      if (!deepAsked && Date.now() >= deepAt) {
        deepAsked = true;
        out('schedule:         the deep sync is due (it starts when the run in progress ends)');
        deepTick?.();
      }
      deepDone ||= deepAsked && /last deep sync/.test(daemon.status.reason);
      if (deepDone && Date.now() >= endAt) ending = true;
      // A tick reaches the sync after the run lock is taken: a second's grace covers that gap.
      if (ending && running === 0 && Date.now() - lastTickAt > 1000) break;
      await sleep(250, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await daemon.stop();
  }
  out();
  const report = statusReport(config);
  out(report.text);
  out();
  if (!deepDone && !stop.signal.aborted) {
    const json = report.json as StatusNumbers;
    for (const line of unfinishedLines({
      initialDone: json.runs?.some((run) => run.kind === 'initial' && run.outcome === 'ok') ?? false,
      patients: { done: json.linkedContacts, of: source.count },
      receptions: receptions ? { done: json.deals?.linkedDeals ?? 0, of: receptions.count } : undefined,
      elapsedMs: Date.now() - startedAt,
      minutes: options.minutes,
    }))
      out(line);
    out();
  }
  if (options.keep && !stop.signal.aborted) {
    out(`The contacts: ${emulator.baseUrl}/`);
    if (receptions) out(`The deals:    ${emulator.baseUrl}/__emulator/leads`);
    out('The emulator keeps serving them until Ctrl-C (--no-keep ends the demo here).');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } else if (stop.signal.aborted) {
    out('Stopped (Ctrl-C): the emulator has stopped too.');
  } else {
    out(
      `The emulator has stopped with the demo (--no-keep): rerun without it to browse the contacts${receptions ? ' and deals' : ''} afterwards.`,
    );
  }
  return daemon.exitCode;
}

/** The part of `statusReport`'s JSON the closing lines read. */
interface StatusNumbers {
  linkedContacts: number;
  runs?: { kind: string; outcome: string }[];
  deals?: { linkedDeals: number } | null;
}

/**
 * A clinic too big for --minutes: the demo ends on time, and says what did not finish and how long
 * a run would take at the pace seen (linked patients and deals alike, plus a quarter for the deep sync).
 */
export function unfinishedLines(progress: {
  initialDone: boolean;
  patients: { done: number; of: number };
  receptions?: { done: number; of: number };
  elapsedMs: number;
  minutes: number;
}): string[] {
  const { patients, receptions } = progress;
  const done = patients.done + (receptions?.done ?? 0);
  const total = patients.of + (receptions?.of ?? 0);
  const what = progress.initialDone
    ? 'the deep sync finished'
    : `the initial sync finished (${patients.done} of ${patients.of} patients linked${receptions ? `, ${receptions.done} of ${receptions.of} receptions made deals` : ''})`;
  const estimate =
    done > 0 ? Math.ceil(((progress.elapsedMs / 60_000) * Math.max(total, done) * 1.25) / done) : Infinity;
  const minutes = Math.max(progress.minutes + 1, estimate);
  const rerun =
    minutes <= 60
      ? `rerun with --minutes ${minutes}`
      : `rerun with --minutes 60 and fewer patients (--patients ${Math.max(1, Math.floor((patients.of * 60) / minutes))})`;
  return [`The demo ended before ${what}; ${rerun}.`];
}

/** The deep sync is asked for this long before the demo's end. */
const deepBeforeEndMs = (minutes: number) => Math.min(15_000, (minutes * 60_000) / 4);

/** Edits, registers and removes a phone, as a clinic's day does; says what changed. */
function changeClinic(source: GeneratedSource, timeZone: string): string {
  const pick = () => source.firstId + Math.floor(Math.random() * source.count);
  const edited = [pick(), pick(), pick()];
  for (const id of edited)
    source.edit(id, { City: 'Пермь', Comment: `Изменено ${zonedText(new Date(), timeZone)}` });
  const added = source.add();
  // A patient with a second number: the mobile the sync wrote goes, the other stays.
  let withoutPhone = pick();
  for (
    let tries = 0;
    tries < 100 && !(source.row(withoutPhone).MobilePhone && source.row(withoutPhone).Phone);
    tries++
  )
    withoutPhone = pick();
  source.edit(withoutPhone, { MobilePhone: null });
  return `patients ${edited.join(', ')} edited, patient ${added} registered, the mobile of patient ${withoutPhone} removed`;
}

/** The clinic's wall clock now, as the driver hands IDENT's datetimes over (its UTC fields). */
function wallClockNow(timeZone: string): Date {
  const now = new Date();
  return new Date(now.getTime() + offsetMinutes(now, timeZone) * 60_000);
}

/** Books a visit, completes one and cancels another, as the reception desk does; says what changed. */
function changeVisits(receptions: GeneratedReceptions, demoBookings: Set<number>, timeZone: string): string {
  // The clinic's own bookings (the latest ids), not the ones the demo made for tomorrow.
  const booked: number[] = [];
  for (
    let id = receptions.firstId + receptions.count - 1;
    id >= receptions.firstId && booked.length < 2;
    id--
  ) {
    const row = receptions.row(id);
    if (!demoBookings.has(id) && !row.EndedAt && !row.CanceledAt) booked.push(id);
  }
  const patient = receptions.firstPatientId + Math.floor(Math.random() * receptions.patients);
  // Tomorrow at 10:00 on IDENT's wall clock.
  const tomorrow = new Date(wallClockNow(timeZone).getTime() + 86_400_000);
  tomorrow.setUTCHours(10, 0, 0, 0);
  const added = receptions.book(patient, tomorrow);
  demoBookings.add(added);
  const [completed, cancelled] = booked;
  if (completed !== undefined) receptions.complete(completed);
  if (cancelled !== undefined) receptions.cancel(cancelled);
  return `reception ${added} booked for patient ${patient}${completed !== undefined ? `, reception ${completed} completed` : ''}${cancelled !== undefined ? `, reception ${cancelled} cancelled` : ''}`;
}

/** The preferred port when it is free on 127.0.0.1, else any free one. */
async function freeOr(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const bound = (server.address() as { port: number }).port;
        server.close(() => resolve(bound));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0))!;
}
