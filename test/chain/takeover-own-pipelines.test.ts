import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChainPatientSource, ChainReceptionSource } from '../../src/sources/scoped-sources.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { dealStack } from '../helpers/deal-stack.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { NOW } from '../helpers/sync-stack.ts';

const DAY = 86_400_000;

/**
 * Attack (a11): one person, patient of center (shared pipelines) and north (its own pipelines,
 * pipelines.bySource). North's manager types a lead on the shared contact in NORTH's pipeline (a
 * call for the north clinic). Then CENTER books a visit: center's reception "takes over" north's
 * open lead (openLeadOf looks in every pipeline of the map, all clinics') and moves it into the
 * shared pipeline: north's lead is gone from north's funnel and now carries a center visit.
 */
describe('a clinic chain: a clinic’s visit takes over another clinic’s manager lead', () => {
  it('leaves a lead in north’s own pipeline to north', async () => {
    const emulator = await startEmulator();
    try {
      const person = { ...syntheticPatient(3, T0), MobilePhone: '+7 912 300 00 03' };
      const center = new MemorySource([person]);
      const north = new MemorySource([{ ...person, PatientId: 3, CardNumber: 'N-3' }]);
      const centerVisits = new MemoryReceptions(center, []);
      const northVisits = new MemoryReceptions(north, []);
      const map = shippedDealMap();
      map.pipelines.bySource = {
        north: {
          primary: { name: 'Север: первичные', stages: map.pipelines.primary.stages },
          repeat: { name: 'Север: повторные', stages: map.pipelines.repeat.stages },
        },
      };
      const chain = [
        { scope: { key: 'center', bare: true }, patients: center, receptions: centerVisits },
        { scope: { key: 'north', bare: false }, patients: north, receptions: northVisits },
      ];
      const stack = await dealStack(
        emulator,
        new ChainPatientSource(chain) as unknown as MemorySource,
        new ChainReceptionSource(chain),
        { map },
      );
      assert.equal((await stack.both('incremental')).outcome, 'ok');
      const contactId = [...emulator.contacts.values()][0]!.id;
      assert.equal(emulator.contacts.size, 1, 'one person, one contact');
      const northPrimary = stack.dealResolved.pipelines.of('north').primary;
      const typed = emulator.deals.seed({
        name: 'Север: звонок, хочет на чистку',
        contactId,
        pipelineId: northPrimary.id,
      });
      await stack.both('deep');
      // Center books a visit in the future.
      centerVisits.put({ ReceptionId: 50, PatientId: 3, PlanStart: new Date(NOW.getTime() + 3 * DAY) });
      const result = await stack.both('incremental');
      assert.equal(result.outcome, 'ok', result.error?.message);
      const lead = emulator.deals.leads.get(typed.id)!;
      const pipelineName = (id: number) => emulator.deals.pipelines.get(id)?.name;
      const leads = [...emulator.deals.leads.values()].map(
        (l) => `${l.id} "${l.name}" in ${pipelineName(l.pipeline_id)}`,
      );
      assert.equal(
        pipelineName(lead.pipeline_id),
        'Север: первичные',
        `north's manager lead was taken by center's visit and moved; leads now: ${leads.join('; ')}`,
      );
    } finally {
      await emulator.stop();
    }
  });
});
