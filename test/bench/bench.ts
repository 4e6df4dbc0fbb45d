/**
 * `npm run bench -- [--patients N] [--receptions M] [--scenarios initial,noop,incremental,idle,naive]
 *                   [--json] [--amocrm-url URL --token TOKEN] [--emulator-url URL [--token TOKEN]]
 *                   [--rate-limit R] [--unpaced]`
 * `npm run bench -- --sources N --shared-people P [--patients K] [--receptions M] [--relatives R] [--json]`
 *   a clinic chain instead (test/bench/chain.ts).
 *
 * N synthetic patients through the real engine, map, client and state store to an
 * amoCRM-compatible server (the project's emulator in a process of its own by default), with the
 * 7 requests/s limit enforced by that server. With --receptions M, M synthetic receptions of those
 * patients become deals after the contacts in the initial and noop scenarios, and every reception
 * is checked for exactly one deal in the pipeline and stage the deal map gives. Prints a table per
 * scenario and, with --json, one JSON object as the last line of stdout. --emulator-url uses an
 * emulator started separately (`npm run emulator`, its long-lived token by --token, default the
 * spawned one's); against an emulator the 429s it answered and the most requests it saw arrive in
 * any one second are printed too. `EMULATOR_SYSTEM_STAGES=english` gives the spawned emulator
 * kommo.com's system stage names ("Closed - won", "Closed - lost").
 */
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { type AmoClient, createAmoClient } from '../../src/amocrm/client.ts';
import { formatTable } from '../../src/cli/table.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { toCreatePayload } from '../../src/mapping/mapper.ts';
import { StateStore } from '../../src/state/store.ts';
import { WATERMARK_OVERLAP_SECONDS } from '../../src/streams/contacts/mirror-refresh.ts';
import { longLivedConfig, tempDir } from '../helpers/amocrm.ts';
import { GeneratedSource } from '../../src/demo/clinic.ts';
import { GeneratedReceptions } from '../../src/demo/receptions.ts';
import {
  apiDealIndex,
  benchDealRun,
  benchRun,
  checkDeals,
  emulatorDealIndex,
  shippedDealMapOn,
  shippedMapOn,
  startEmulatorProcess,
  UnpacedLimiter,
} from './harness.ts';
import { reportChain, runChainBench } from './chain.ts';

const SCENARIOS = ['initial', 'noop', 'incremental', 'idle', 'naive'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Measurement {
  name: Scenario;
  patients: number;
  seconds: number;
  patientsPerSecond: number;
  requests: number;
  writeRequests: number;
  requests429: number;
  peakRssMb: number;
  cpuSeconds: number;
  /** Patients of the scenario that amoCRM would not take or the sync could not map. */
  failed: number;
  /** Patients of the scenario born before 1970 (their dates cannot go as Unix timestamps). */
  born_before_1970: number;
  created?: number;
  updated?: number;
  unchanged?: number;
  repaired?: number;
  /** Requests the next run spends reading the written contacts back into the mirror. */
  mirror_readback_requests?: number;
  /** With --receptions: the deal run after the contacts. */
  receptions?: number;
  deals?: number;
  dealWrites?: number;
  duplicateDeals?: number;
  missingDeals?: number;
  wrongStage?: number;
  dealsPerSecond?: number;
  dealSeconds?: number;
  dealRequests?: number;
}

/** What a scenario's work reports beyond the counters `measure` takes itself. */
type Extra = Partial<Measurement> &
  Pick<Measurement, 'failed' | 'born_before_1970'> & { contactSeconds?: number };

const { values } = parseArgs({
  options: {
    patients: { type: 'string' },
    receptions: { type: 'string', default: '0' },
    // Wide enough that every synthetic reception (the oldest are months back) is in the deep window.
    'days-back': { type: 'string', default: '3650' },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    json: { type: 'boolean', default: false },
    'amocrm-url': { type: 'string' },
    'emulator-url': { type: 'string' },
    token: { type: 'string' },
    'naive-sample': { type: 'string', default: '300' },
    'rate-limit': { type: 'string', default: '7' },
    // Profiling only: no pace on either side, so the sync's own CPU shows without the wait.
    unpaced: { type: 'boolean', default: false },
    // A clinic chain (issue 20): N databases with overlapping ids, P people in several of them.
    sources: { type: 'string' },
    'shared-people': { type: 'string', default: '0' },
    relatives: { type: 'string', default: '3' },
    'bare-first': { type: 'boolean', default: false },
  },
});
const patients = Number(values.patients ?? '100000');
const receptionCount = Number(values.receptions);
const wanted = values.scenarios!.split(',').map((name) => name.trim()) as Scenario[];
for (const name of wanted) {
  if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${name}; use ${SCENARIOS.join(', ')}`);
}
if (values['amocrm-url'] && !values.token) throw new Error('--amocrm-url needs --token (a long-lived token)');
if (values['amocrm-url'] && values.unpaced)
  throw new Error('--unpaced is for the emulator only: amoCRM blocks clients past 7 requests/s');
const log = (line: string) => process.stderr.write(`${line}\n`);

async function measure(
  name: Scenario,
  count: number,
  client: AmoClient,
  work: () => Promise<Extra>,
): Promise<Measurement> {
  const before = { ...client.http.stats };
  const cpu = process.cpuUsage();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = performance.now();
  const extra = await work();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const used = process.cpuUsage(cpu);
  const after = client.http.stats;
  const { contactSeconds, ...rest } = extra;
  return {
    name,
    patients: count,
    seconds: round(seconds),
    patientsPerSecond: round(count / (contactSeconds ?? seconds)),
    requests: after.requests - before.requests,
    writeRequests: after.writeRequests - before.writeRequests,
    requests429: after.requests429 - before.requests429,
    peakRssMb: round(peak / 1024 / 1024),
    cpuSeconds: round((used.user + used.system) / 1e6),
    ...rest,
  };
}

const round = (value: number) => Math.round(value * 100) / 100;

async function main() {
  const external = values['amocrm-url'] ?? values['emulator-url'];
  const emulator = external ? undefined : await startEmulatorProcess({ unpaced: values.unpaced });
  const url = (external ?? emulator!.url).replace(/\/+$/, '');
  const token = values.token ?? emulator?.token ?? 'bench-long-lived-token';
  const emulatorUrl = values['amocrm-url'] ? undefined : url;
  // The server's own count starts with this bench.
  if (emulatorUrl) await fetch(`${emulatorUrl}/__emulator/reset-counters`, { method: 'POST' });
  const stateDir = tempDir('ident-sync-bench-');
  const client = createAmoClient(
    longLivedConfig(url, token, { timeoutMs: 60_000, rateLimitRps: Number(values['rate-limit']) }),
    stateDir,
    silentLogger(),
    values.unpaced ? { limiter: new UnpacedLimiter(7) } : {},
  );
  try {
    const { resolved, mapper } = await shippedMapOn(client);
    // Ids of their own per run, so a real account's earlier bench contacts are never touched.
    const firstId = values['amocrm-url'] ? 1_000_000_000 + (Date.now() % 1_000_000) * 1000 : 1;
    const source = new GeneratedSource(patients, firstId);
    const store = new StateStore(stateDir);
    const parts = { source, mapper, resolved, client, store };
    const deals = receptionCount > 0 ? await shippedDealMapOn(client) : undefined;
    const receptions = new GeneratedReceptions(receptionCount, { count: patients, firstId }, { firstId });
    const dealParts = deals && { ...parts, receptions, deals };
    const daysBack = Number(values['days-back']);
    /** The deal run after a contact run, timed on its own; then every reception checked (not timed). */
    const withDeals = async (
      kind: 'incremental' | 'deep',
      contactStarted: number,
      extra: Extra,
    ): Promise<Extra> => {
      if (!dealParts) return extra;
      const contactSeconds = (performance.now() - contactStarted) / 1000;
      const before = { ...client.http.stats };
      const started = performance.now();
      const result = await benchDealRun(dealParts, kind, daysBack);
      const dealSeconds = (performance.now() - started) / 1000;
      return {
        ...extra,
        contactSeconds,
        receptions: receptionCount,
        dealWrites: client.http.stats.writeRequests - before.writeRequests,
        dealRequests: client.http.stats.requests - before.requests,
        dealSeconds: round(dealSeconds),
        dealsPerSecond: round(receptionCount / dealSeconds),
        failed: extra.failed + result.failed,
      };
    };
    const checked = async (measurement: Measurement): Promise<Measurement> => {
      if (!deals) return measurement;
      const fieldId = deals.resolved.fields.find((field) => field.spec.key === 'reception_id')!.fieldId;
      const index = values['amocrm-url'] ? apiDealIndex(client, fieldId) : emulatorDealIndex(url, fieldId);
      const identNow = (await source.now()).at;
      return {
        ...measurement,
        ...(await checkDeals(index, receptions.window(new Date(0)), deals.mapper, identNow)),
      };
    };
    const results: Measurement[] = [];
    let initialDone = false;

    const everyone = source.bornBefore1970();
    const initial = async () => {
      const started = performance.now();
      const result = await benchRun(parts, 'incremental');
      initialDone = true;
      return withDeals('incremental', started, {
        created: result.created,
        failed: result.failed,
        born_before_1970: everyone,
      });
    };
    for (const name of SCENARIOS.filter((scenario) => wanted.includes(scenario))) {
      log(`scenario ${name}: ${name === 'naive' ? values['naive-sample'] : patients} patients…`);
      if ((name === 'noop' || name === 'incremental' || name === 'idle') && !initialDone) {
        log('  (the initial sync first, not measured)');
        await initial();
      }
      if (name === 'initial') results.push(await checked(await measure(name, patients, client, initial)));
      if (name === 'noop') {
        results.push(
          await checked(
            await measure(name, patients, client, async () => {
              const started = performance.now();
              const result = await benchRun(parts, 'deep');
              return withDeals('deep', started, {
                unchanged: result.unchanged,
                updated: result.updated,
                created: result.created,
                repaired: result.repaired,
                failed: result.failed,
                born_before_1970: everyone,
              });
            }),
          ),
        );
      }
      if (name === 'incremental' || name === 'idle') {
        // The daemon's runs are minutes apart, each reading back into the mirror what the runs
        // before it wrote: one run, not measured, catches the mirror up before this scenario.
        await new Promise((resolve) => setTimeout(resolve, (WATERMARK_OVERLAP_SECONDS + 1) * 1000));
        await benchRun(parts, 'incremental');
      }
      if (name === 'incremental') {
        const changed = source.change(0.01);
        const measured = await measure(name, changed, client, async () => {
          const result = await benchRun(parts, 'incremental');
          return {
            updated: result.updated,
            unchanged: result.unchanged,
            failed: result.failed,
            born_before_1970: source.bornBefore1970(true),
          };
        });
        // Every contact written is read back once by the next run's mirror refresh: its cost, shown apart.
        await new Promise((resolve) => setTimeout(resolve, (WATERMARK_OVERLAP_SECONDS + 1) * 1000));
        const before = client.http.stats.requests;
        await benchRun(parts, 'incremental');
        measured.mirror_readback_requests = client.http.stats.requests - before;
        results.push(measured);
      }
      if (name === 'idle') {
        // Nothing changed in IDENT since the last run: the mirror refresh is all it costs.
        source.clock = new Date(source.clock.getTime() + 120_000);
        results.push(
          await measure(name, 0, client, async () => {
            const result = await benchRun(parts, 'incremental');
            return { updated: result.updated, failed: result.failed, born_before_1970: 0 };
          }),
        );
      }
      if (name === 'naive') {
        // As the earlier integration worked: one request per patient, every time, no change detection.
        const sample = Math.min(Number(values['naive-sample']), patients);
        const naiveSource = new GeneratedSource(sample, firstId + patients + 1);
        results.push(
          await measure(name, sample, client, async () => {
            let created = 0;
            for await (const row of naiveSource.all()) {
              const outcome = mapper(row);
              if (!outcome.ok) continue;
              await client.contacts.write('post', [
                { requestId: '0', body: toCreatePayload(outcome.contact.document) },
              ]);
              created += 1;
            }
            return { created, failed: 0, born_before_1970: naiveSource.bornBefore1970() };
          }),
        );
      }
    }
    store.close();
    report(results, url, emulatorUrl ? await serverCounts(emulatorUrl) : undefined);
  } finally {
    emulator?.stop();
  }
}

/** What the emulator saw: 429s it answered, and the most requests that arrived in any one second (sliding). */
async function serverCounts(url: string): Promise<ServerCounts> {
  const state = (await (await fetch(`${url}/__emulator/state`)).json()) as ServerCounts;
  return { requests429: state.requests429, maxRequestsInAnySecond: state.maxRequestsInAnySecond };
}
interface ServerCounts {
  requests429: number;
  maxRequestsInAnySecond: number;
}

function report(results: Measurement[], url: string, server: ServerCounts | undefined) {
  const rate = Number(values['rate-limit']);
  const ceiling = rate * 50;
  process.stdout.write(
    `ident-sync bench — ${patients} patients${receptionCount > 0 ? `, ${receptionCount} receptions` : ''}, ${values['amocrm-url'] ? url : 'emulator'}${
      values.unpaced
        ? ' UNPACED: no rate limit anywhere (profiling only; the patients/s column means nothing for amoCRM)'
        : ` (7 req/s enforced by the server), client pace ${rate} req/s × 50 per batch = ceiling ${ceiling} patients/s`
    }; ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n`,
  );
  process.stdout.write(
    `${formatTable(
      [
        'scenario',
        'patients',
        'seconds',
        'patients/s',
        'requests',
        'writes',
        '429s',
        'peak RSS MB',
        'CPU s',
        'notes',
      ],
      results.map((r) => [
        r.name,
        String(r.patients),
        String(r.seconds),
        String(r.patientsPerSecond),
        String(r.requests),
        String(r.writeRequests),
        String(r.requests429),
        String(r.peakRssMb),
        String(r.cpuSeconds),
        notes(r, ceiling),
      ]),
    )}\n`,
  );
  const withDeals = results.filter((r) => r.receptions !== undefined);
  if (withDeals.length > 0) {
    process.stdout.write(
      `\n${formatTable(
        [
          'scenario',
          'receptions',
          'deals',
          'deal seconds',
          'deals/s',
          'deal requests',
          'deal writes',
          'duplicates',
          'missing',
          'wrong stage',
          'notes',
        ],
        withDeals.map((r) => [
          r.name,
          String(r.receptions),
          String(r.deals),
          String(r.dealSeconds),
          String(r.dealsPerSecond),
          String(r.dealRequests),
          String(r.dealWrites),
          String(r.duplicateDeals),
          String(r.missingDeals),
          String(r.wrongStage),
          r.name === 'initial' && !values.unpaced
            ? `${Math.round(((r.dealsPerSecond ?? 0) / ceiling) * 100)}% of the ceiling`
            : `${r.dealWrites} write(s)`,
        ]),
      )}\n`,
    );
  }
  if (server) {
    process.stdout.write(
      `\nthe emulator saw: ${server.requests429} answers 429, at most ${server.maxRequestsInAnySecond} requests arriving in any one second\n`,
    );
  }
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ server, scenarios: results.map(({ created: _c, updated: _u, unchanged: _n, repaired: _r, dealSeconds: _d, dealRequests: _q, ...rest }) => rest) })}\n`,
    );
  }
}

function notes(r: Measurement, ceiling: number): string {
  switch (r.name) {
    case 'initial':
      return values.unpaced
        ? `created ${r.created}, failed ${r.failed}`
        : `${Math.round((r.patientsPerSecond / ceiling) * 100)}% of the ceiling; created ${r.created}, failed ${r.failed}, ${r.born_before_1970} born before 1970`;
    case 'noop':
      return `unchanged ${r.unchanged}, repaired ${r.repaired}, writes ${r.writeRequests}`;
    case 'incremental':
      return `${round((r.requests / r.patients) * 1000)} requests per 1 000 changed; the next run reads them back in ${r.mirror_readback_requests}`;
    case 'idle':
      return `${r.requests} request(s) for a run with nothing changed`;
    case 'naive':
      return `${round(r.requests / r.patients)} requests per patient`;
  }
}

if (values.sources !== undefined) {
  if (values['amocrm-url']) throw new Error('--sources runs against the emulator only (it reads its store)');
  const options = {
    sources: Number(values.sources),
    sharedPeople: Number(values['shared-people']),
    // The chain's own default: a few hundred patients a clinic, not the single clinic's 100 000.
    patients: Number(values.patients ?? '200'),
    receptions: receptionCount,
    relatives: Number(values.relatives),
    bareFirst: values['bare-first']!,
    daysBack: Number(values['days-back']),
    emulatorUrl: values['emulator-url'],
    token: values.token,
    json: values.json!,
  };
  reportChain(await runChainBench(options), options);
} else await main();
