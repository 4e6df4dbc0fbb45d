import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/amocrm.ts';
import { attackEmulator, attackStack } from './stack.ts';
import { existsSync } from 'node:fs';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient } from '../helpers/memory-source.ts';

const wall = (month: number, day: number, hour: number) => new Date(Date.UTC(2026, month - 1, day, hour));
const T = wall(11, 20, 10);

const visits = [
  {
    ReceptionId: 11,
    PatientId: 1,
    PlanStart: wall(10, 1, 10),
    ArrivedAt: wall(10, 1, 10),
    EndedAt: wall(10, 1, 11),
    Sum: 3000,
  },
  { ReceptionId: 12, PatientId: 1, PlanStart: wall(12, 5, 10) },
  {
    ReceptionId: 21,
    PatientId: 2,
    PlanStart: wall(10, 3, 10),
    CanceledAt: wall(10, 2, 9),
    CancelReason: 'Перенос',
  },
  { ReceptionId: 22, PatientId: 2, PlanStart: wall(12, 7, 10) },
  { ReceptionId: 31, PatientId: 3, PlanStart: wall(11, 20, 9), ArrivedAt: wall(11, 20, 9) },
];

// The release before issue 19 (git worktree add ../old e367912), on the same emulator and state folder.
const OLD = new URL('../../../old/test/helpers/', import.meta.url);
const skip = existsSync(new URL('deal-stack.ts', OLD))
  ? false
  : 'needs ../old (git worktree add ../old e367912)';

describe('attack: a state folder of the release before issue 19', () => {
  it(
    'the new release resends nothing: 0 writes to leads or contacts, in an incremental and a deep run',
    { skip },
    async () => {
      const { dealStack: oldDealStack } = await import(new URL('deal-stack.ts', OLD).href);
      const { MemoryReceptions: OldReceptions } = await import(new URL('memory-receptions.ts', OLD).href);
      const { MemorySource: OldSource, syntheticPatient: oldPatient } = await import(
        new URL('memory-source.ts', OLD).href
      );
      const emulator = await attackEmulator();
      const stateDir = tempDir();
      try {
        const oldPatients = new OldSource(
          [1, 2, 3].map((id) => oldPatient(id, wall(9, 1, 9))),
          T,
        );
        const oldReceptions = new OldReceptions(oldPatients, visits);
        const old = await oldDealStack(emulator as never, oldPatients, oldReceptions, { stateDir });
        assert.equal((await old.both()).outcome, 'ok');
        assert.equal((await old.both('deep')).outcome, 'ok');
        old.store.close();

        const patients = new MemorySource(
          [1, 2, 3].map((id) => syntheticPatient(id, wall(9, 1, 9))),
          T,
        );
        patients.tick(60_000);
        const receptions = new MemoryReceptions(patients, visits);
        // As `fields --create --pipelines` after the upgrade: the stage «Не пришёл» is added.
        const stack = await attackStack(emulator, patients, receptions, { stateDir });
        stack.hostNow = new Date(Date.UTC(2026, 10, 20, 8));
        try {
          const writesBefore = emulator.writeRequests().length;
          const incremental = await stack.both();
          assert.equal(incremental.outcome, 'ok', String(incremental.error));
          const deep = await stack.both('deep');
          assert.equal(deep.outcome, 'ok', String(deep.error));
          const writes = emulator.writeRequests().slice(writesBefore);
          assert.deepEqual(
            writes.map((request) => `${request.method} ${request.path}`),
            [],
            JSON.stringify({ incremental, deep }),
          );
        } finally {
          stack.store.close();
        }
      } finally {
        await emulator.stop();
      }
    },
  );
});
