import { formatTable } from '../../src/cli/table.ts';
import { createAmoClient } from '../../src/amocrm/client.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { StateStore } from '../../src/state/store.ts';
import { syntheticChain } from '../../src/demo/chain.ts';
import { longLivedConfig, tempDir } from '../helpers/amocrm.ts';
import {
  chainSources,
  type ChainCounts,
  ContactWrites,
  countDeals,
  countPeople,
  type DealCounts,
  readAccount,
} from '../chain/measure.ts';
import { benchDealRun, benchRun, shippedDealMapOn, shippedMapOn, startEmulatorProcess } from './harness.ts';

/**
 * `npm run bench -- --sources N --shared-people P [--patients K] [--receptions M] [--relatives R]
 * [--bare-first] [--json]`: a clinic chain of N synthetic IDENT databases (ids 1…K in each,
 * different people; P people patients of several clinics; R relatives on another patient's number)
 * through one engine over the chain into one emulator account: a first run, a deep sync, and a
 * second deep sync that should write nothing. Contacts and deals are then checked against who the
 * people really are (test/chain/measure.ts).
 */
export interface ChainBenchOptions {
  sources: number;
  sharedPeople: number;
  patients: number;
  receptions: number;
  relatives: number;
  bareFirst: boolean;
  daysBack: number;
  emulatorUrl: string | undefined;
  token: string | undefined;
  json: boolean;
}

export interface ChainMeasurement extends ChainCounts, DealCounts {
  /** Contact writes (creates + contacts PATCHed) of the second deep sync, which had nothing to do. */
  flips: number;
  flipRequests: number;
  /** Contacts the second deep sync created (a no-op should create none). */
  flipCreates: number;
  /** Deal write requests of the second deep sync. */
  dealFlips: number;
  initialSeconds: number;
  requests: number;
  requests429: number;
  maxRequestsInAnySecond: number;
}

const KEYS = ['center', 'north', 'south', 'east', 'west', 'river', 'park', 'hill', 'lake'];

export async function runChainBench(options: ChainBenchOptions): Promise<ChainMeasurement> {
  if (options.sources < 1 || options.sources > KEYS.length)
    throw new Error(`--sources takes 1 to ${KEYS.length}`);
  const emulator = options.emulatorUrl ? undefined : await startEmulatorProcess();
  const url = (options.emulatorUrl ?? emulator!.url).replace(/\/+$/, '');
  const token = options.token ?? emulator?.token ?? 'bench-long-lived-token';
  await fetch(`${url}/__emulator/reset-counters`, { method: 'POST' });
  const stateDir = tempDir('ident-sync-chain-bench-');
  const client = createAmoClient(
    longLivedConfig(url, token, { timeoutMs: 60_000, rateLimitRps: 7 }),
    stateDir,
    silentLogger(),
  );
  const writes = new ContactWrites(client);
  const store = new StateStore(stateDir);
  try {
    const chain = syntheticChain({
      keys: KEYS.slice(0, options.sources),
      firstBare: options.bareFirst,
      patients: options.patients,
      sharedPeople: options.sharedPeople,
      relatives: options.relatives,
      receptions: options.receptions,
    });
    const { resolved, mapper } = await shippedMapOn(client);
    const { source, receptions } = chainSources(chain);
    const parts = { source, mapper, resolved, client, store };
    const deals = options.receptions > 0 ? await shippedDealMapOn(client) : undefined;
    const dealRun = async (kind: 'incremental' | 'deep') => {
      if (deals) await benchDealRun({ ...parts, receptions, deals }, kind, options.daysBack);
    };
    const log = (line: string) => process.stderr.write(`${line}\n`);
    log(`chain: ${options.sources} clinics × ${options.patients} patients, ${options.sharedPeople} shared…`);
    const started = performance.now();
    await benchRun(parts, 'incremental');
    await dealRun('incremental');
    const initialSeconds = (performance.now() - started) / 1000;
    log('  first deep sync…');
    await benchRun(parts, 'deep');
    await dealRun('deep');
    log('  second deep sync (nothing changed)…');
    const mark = writes.mark();
    await benchRun(parts, 'deep');
    const contactFlips = writes.since(mark);
    const writesBefore = client.http.stats.writeRequests;
    await dealRun('deep');
    const dealFlips = client.http.stats.writeRequests - writesBefore;
    const account = await readAccount(url);
    const people = countPeople(chain, account.contacts, identFieldId(resolved));
    const dealCounts = deals
      ? await countDeals(
          chain,
          account.leads,
          deals.resolved.fields.find((field) => field.spec.key === 'reception_id')!.fieldId,
        )
      : { receptions: 0, deals: 0, missingDeals: 0, duplicateDeals: 0 };
    const { wrongContacts, duplicatePeople, ...counts } = people;
    if (!options.json) {
      for (const line of wrongContacts.slice(0, 5)) log(`  two people on ${line}`);
      if (duplicatePeople.length > 0)
        log(`  people on more than one contact: ${duplicatePeople.slice(0, 8).join(', ')}…`);
    }
    return {
      ...counts,
      ...dealCounts,
      flips: contactFlips.creates + contactFlips.touched.size,
      flipRequests: contactFlips.requests,
      flipCreates: contactFlips.creates,
      dealFlips,
      initialSeconds: Math.round(initialSeconds * 100) / 100,
      requests: client.http.stats.requests,
      requests429: account.requests429,
      maxRequestsInAnySecond: account.maxRequestsInAnySecond,
    };
  } finally {
    store.close();
    emulator?.stop();
  }
}

export function reportChain(result: ChainMeasurement, options: ChainBenchOptions): void {
  process.stdout.write(
    `ident-sync bench — a chain of ${result.sources} clinics, ${options.patients} patients each (ids overlapping), ${options.sharedPeople} people in several clinics, ${options.relatives} relatives on another's number; emulator (7 req/s enforced)\n\n`,
  );
  process.stdout.write(
    `${formatTable(
      [
        'people',
        'contacts',
        'wrong person',
        'duplicates',
        'missing',
        'flips',
        'receptions',
        'deals',
        'missing deals',
        'duplicate deals',
        'peak req/s',
      ],
      [
        [
          result.people,
          result.contacts,
          result.wrongPerson,
          result.duplicates,
          result.missing,
          result.flips,
          result.receptions,
          result.deals,
          result.missingDeals,
          result.duplicateDeals,
          result.maxRequestsInAnySecond,
        ].map(String),
      ],
    )}\n`,
  );
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
}
