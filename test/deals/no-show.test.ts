import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { createMissingPipelines } from '../../src/fields/ensure-pipelines.ts';
import { longLivedClient } from '../helpers/amocrm.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient } from '../helpers/memory-source.ts';
import { type AttackStack, attackEmulator, attackStack, dealOf, stageId } from './stack.ts';

// IDENT's wall clock (Moscow), as the driver hands it over: a Date whose UTC fields are the wall time.
const wall = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, day, hour, minute));
// The host's real time for a Moscow wall time (UTC+3).
const host = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, day, hour - 3, minute));

describe('attack: no-shows', () => {
  let emulator: AmoCrmEmulator;
  let patients: MemorySource;
  let receptions: MemoryReceptions;
  let stack: AttackStack;

  beforeEach(async () => {
    emulator = await attackEmulator();
    patients = new MemorySource([syntheticPatient(1, wall(20, 9))], wall(20, 10));
    receptions = new MemoryReceptions(patients, [{ ReceptionId: 31, PatientId: 1, PlanStart: wall(20, 12) }]);
  });
  afterEach(async () => {
    stack.store.close();
    await emulator.stop();
  });

  it('a no-show the clinic books again for next week goes back to «Записан»', async () => {
    stack = await attackStack(emulator, patients, receptions);
    stack.hostNow = host(20, 10);
    await stack.both();
    assert.equal(dealOf(emulator, stack, 31).status_id, stageId(stack, 'Записан'));
    // 16:00: the patient did not come (planned end 12:30 + 3 h).
    patients.clock = wall(20, 16);
    stack.hostNow = host(20, 16);
    await stack.both('deep');
    assert.equal(dealOf(emulator, stack, 31).status_id, stageId(stack, 'Не пришёл'));
    // The administrator drags the visit to next Friday: booked again, upcoming.
    receptions.touch(31, { PlanStart: wall(27, 12) });
    const result = await stack.both();
    assert.equal(result.outcome, 'ok');
    assert.equal(
      dealOf(emulator, stack, 31).status_id,
      stageId(stack, 'Записан'),
      'the deal of a visit booked for next week still says the patient did not come',
    );
  });

  it('a host clock stepped a day forward for one deep sync: tomorrow’s visits go back to «Записан» once it is back', async () => {
    receptions.put({ ReceptionId: 32, PatientId: 1, PlanStart: wall(21, 11) });
    stack = await attackStack(emulator, patients, receptions);
    stack.hostNow = host(20, 10);
    await stack.both();
    assert.equal(dealOf(emulator, stack, 32).status_id, stageId(stack, 'Записан', 'primary'));
    // The host's clock steps a day ahead (a VM restored, NTP gone wrong) for one deep sync...
    stack.hostNow = host(21, 18);
    await stack.both('deep');
    // ...and comes back. IDENT never changed.
    stack.hostNow = host(20, 10, 30);
    patients.tick(60_000);
    await stack.both('deep');
    assert.equal(
      dealOf(emulator, stack, 32).status_id,
      stageId(stack, 'Записан'),
      'tomorrow’s booked visit stays in «Не пришёл»',
    );
  });

  it('an account upgraded with `fields --create --pipelines` gets «Не пришёл» before «Пациент пришёл», so a late arrival moves on', async () => {
    // The pipelines as the release before issue 19 created them.
    const old = shippedDealMap();
    for (const role of ['primary', 'repeat'] as const)
      old.pipelines[role].stages = ['Записан', 'Пациент пришёл'];
    await createMissingPipelines(old, longLivedClient(emulator).pipelines);
    stack = await attackStack(emulator, patients, receptions); // adds the missing stage, as the upgrade does
    const ranks = Object.fromEntries(
      stack.dealResolved.pipelines.primary.stages.map((stage) => [stage.name, stage.rank]),
    );
    assert.ok(
      ranks['Не пришёл']! < ranks['Пациент пришёл']!,
      `«Не пришёл» was added after «Пациент пришёл»: ${JSON.stringify(ranks)}`,
    );
    stack.hostNow = host(20, 10);
    await stack.both();
    patients.clock = wall(20, 16);
    stack.hostNow = host(20, 16);
    await stack.both('deep');
    assert.equal(dealOf(emulator, stack, 31).status_id, stageId(stack, 'Не пришёл'));
    // The patient turns up late after all; the administrator records the arrival.
    receptions.touch(31, { ArrivedAt: wall(20, 16, 5) });
    await stack.both();
    assert.equal(
      dealOf(emulator, stack, 31).status_id,
      stageId(stack, 'Пациент пришёл'),
      `the arrived patient's deal stays in «Не пришёл» (ranks ${JSON.stringify(ranks)})`,
    );
  });
});
