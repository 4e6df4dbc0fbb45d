import { IdentDbError } from '../ident/errors.ts';
import type { PatientSource } from '../ident/patient-source.ts';
import type { ReceptionSource } from '../ident/reception-source.ts';
import { sourceError } from './source-error.ts';

/**
 * A source of a chain whose read failures name it: a connection of north's lost in a run says
 * `source north: …` and SOURCE_NORTH_DB_HOST, not a DB_HOST every source may share.
 */
export function keyedPatients(key: string, source: PatientSource): PatientSource {
  return {
    now: () => keyed(key, () => source.now()),
    changedSince: (since) => keyedRows(key, () => source.changedSince(since)),
    all: () => keyedRows(key, () => source.all()),
    one: (patientId) => keyed(key, () => source.one(patientId)),
    stats: () => keyed(key, () => source.stats()),
    close: () => source.close(),
  };
}

export function keyedReceptions(key: string, source: ReceptionSource): ReceptionSource {
  return {
    changedSince: (since, windowStart, sinceRowVersion, marks) =>
      keyedRows(key, () => source.changedSince(since, windowStart, sinceRowVersion, marks)),
    window: (windowStart) => keyedRows(key, () => source.window(windowStart)),
    one: (receptionId) => keyed(key, () => source.one(receptionId)),
  };
}

const rekey = (key: string, error: unknown) =>
  error instanceof IdentDbError ? sourceError(key, error) : error;

async function keyed<T>(key: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw rekey(key, error);
  }
}

async function* keyedRows<R>(key: string, rows: () => AsyncIterable<R>): AsyncGenerator<R> {
  try {
    yield* rows();
  } catch (error) {
    throw rekey(key, error);
  }
}
