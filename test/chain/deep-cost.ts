/**
 * a9 attack: the cost of a chain's deep sync. Two clinics of K patients each, P people in both.
 * Counts single-row SQL reads (`one`) per run and per shared patient, time and memory.
 * node test/attack/perf-chain.ts [K] [P]
 */
import { syntheticChain } from '../../src/demo/chain.ts';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { ChainPatientSource } from '../../src/sources/scoped-sources.ts';
import type { PatientSource } from '../../src/ident/patient-source.ts';
import { countPeople } from './measure.ts';
import type { MemorySource } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';
import { startEmulator } from '../helpers/amocrm.ts';

const K = Number(process.argv[2] ?? 5000);
const P = Number(process.argv[3] ?? 1500);
const chain = syntheticChain({ keys: ['center', 'north'], patients: K, sharedPeople: P });
const counts = { one: 0, rowsStreamed: 0 };
function counted(source: PatientSource): PatientSource {
  return new Proxy(source, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'one')
        return (id: string) => {
          counts.one += 1;
          return (value as PatientSource['one']).call(target, id);
        };
      if (prop === 'all' || prop === 'changedSince')
        return (...args: unknown[]) => {
          const it = (value as (...a: unknown[]) => AsyncIterable<unknown>).apply(target, args);
          return (async function* () {
            for await (const row of it) {
              counts.rowsStreamed += 1;
              yield row;
            }
          })();
        };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
const source = new ChainPatientSource(
  chain.clinics.map((clinic) => ({ scope: clinic.scope, patients: counted(clinic.patients) })),
);
const emulator = await startEmulator({ port: 47590 });
let peak = 0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
try {
  const stack = await syncStack(emulator, source as unknown as MemorySource);
  const sharedPatients = [...chain.shared.values()].reduce((n, ids) => n + ids.length, 0);
  for (const kind of ['incremental', 'deep', 'deep'] as const) {
    counts.one = 0;
    counts.rowsStreamed = 0;
    const writesBefore = emulator.requests.filter((r) => r.write).length;
    const started = performance.now();
    const result = await stack.run({ kind });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      JSON.stringify({
        kind,
        outcome: result.outcome,
        seconds: Math.round(seconds * 10) / 10,
        rowsStreamed: counts.rowsStreamed,
        singleRowReads: counts.one,
        singleReadsPerSharedPatient: Math.round((counts.one / sharedPatients) * 100) / 100,
        writes: emulator.requests.filter((r) => r.write).length - writesBefore,
        created: result.created,
        updated: result.updated,
        rssMB: Math.round(peak / 1e6),
      }),
    );
  }
  const people = countPeople(chain, [...emulator.contacts.values()], identFieldId(stack.resolved));
  console.log(
    JSON.stringify({
      people: people.people,
      contacts: people.contacts,
      wrongPerson: people.wrongPerson,
      duplicates: people.duplicates,
      missing: people.missing,
      sharedPatients,
    }),
  );
} finally {
  clearInterval(timer);
  await emulator.stop();
}
