import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { dealStack } from '../helpers/deal-stack.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';

/** A JSON logger whose lines are kept. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', format: 'json', destination: stream }) };
}

describe('progress lines', () => {
  let emulator: AmoCrmEmulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator.stop();
  });

  it('count amoCRM requests while the run goes on, for contacts and for deals', async () => {
    const patients = new MemorySource(
      Array.from({ length: 120 }, (_, index) => syntheticPatient(index + 1, T0)),
    );
    const day = (offset: number) => new Date(T0.getTime() + offset * 86_400_000);
    const receptions = new MemoryReceptions(
      patients,
      Array.from({ length: 120 }, (_, index) => ({
        ReceptionId: 1000 + index,
        PatientId: index + 1,
        PlanStart: day(3),
      })),
    );
    const stack = await dealStack(emulator, patients, receptions);
    const contacts = capturingLogger();
    const contactRun = await stack.run({ kind: 'incremental' }, { progressEveryMs: 0 }, contacts.logger);
    assert.equal(contactRun.outcome, 'ok');
    const contactProgress = contacts.lines.filter((line) => line.msg === 'sync progress');
    assert.ok(contactProgress.length > 0, 'no contact progress line');
    assert.ok(Number(contactProgress.at(-1)!.requests) > 0, JSON.stringify(contactProgress.at(-1)));

    const deals = capturingLogger();
    const dealRun = await stack.deals({ kind: 'incremental' }, { progressEveryMs: 0 }, deals.logger);
    assert.equal(dealRun.outcome, 'ok');
    const dealProgress = deals.lines.filter((line) => line.msg === 'deal sync progress');
    assert.ok(dealProgress.length > 0, 'no deal progress line');
    assert.equal(dealProgress.at(-1)!.done, 120);
    assert.ok(Number(dealProgress.at(-1)!.requests) > 0, JSON.stringify(dealProgress.at(-1)));
  });
});
