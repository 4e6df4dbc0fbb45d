import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identFieldId } from '../../src/mapping/catalogue.ts';
import { ChainPatientSource, ChainReceptionSource } from '../../src/sources/scoped-sources.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { dealStack } from '../helpers/deal-stack.ts';
import { shippedDealMap } from '../helpers/deal-map.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';

const DAY = 86_400_000;

describe('deals of a clinic chain', () => {
  it('belong to their clinic: scoped reception ids, the shared contact, the clinic’s own pipelines', async () => {
    const emulator = await startEmulator();
    try {
      const person = { ...syntheticPatient(3, T0), MobilePhone: '+7 912 300 00 03' };
      const center = new MemorySource([person, syntheticPatient(4, T0)]);
      const north = new MemorySource([{ ...person, PatientId: 3, CardNumber: 'N-3' }]);
      const visit = (id: number, patient: number) => ({
        ReceptionId: id,
        PatientId: patient,
        PlanStart: new Date(T0.getTime() + id * DAY),
      });
      // Reception 10 exists in both databases: two visits, two deals.
      const centerVisits = new MemoryReceptions(center, [visit(10, 3), visit(11, 4)]);
      const northVisits = new MemoryReceptions(north, [visit(10, 3)]);
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
      const result = await stack.both('incremental');
      assert.equal(result.outcome, 'ok');
      const leads = [...emulator.deals.leads.values()];
      assert.equal(leads.length, 3);
      const receptionField = stack.dealResolved.fields.find(
        (field) => field.spec.key === 'reception_id',
      )!.fieldId;
      const byReception = new Map(
        leads.map((lead) => [
          String(
            lead.custom_fields_values?.find((field) => field.field_id === receptionField)?.values[0]?.value,
          ),
          lead,
        ]),
      );
      assert.deepEqual([...byReception.keys()].sort(), ['10', '11', 'north:10']);
      const pipelineName = (id: number) => emulator.deals.pipelines.get(id)?.name;
      assert.equal(pipelineName(byReception.get('north:10')!.pipeline_id), 'Север: первичные');
      assert.equal(pipelineName(byReception.get('10')!.pipeline_id), map.pipelines.primary.name);
      // One person: both clinics' visits on the one contact, which lists both patients.
      const contactOf = (lead: (typeof leads)[number]) => lead.contacts[0]?.id;
      assert.equal(contactOf(byReception.get('north:10')!), contactOf(byReception.get('10')!));
      const contact = emulator.contacts.get(contactOf(byReception.get('10')!)!)!;
      const ids = contact.custom_fields_values?.find(
        (field) => field.field_id === identFieldId(stack.resolved),
      );
      assert.equal(ids?.values[0]?.value, '3, north:3');
    } finally {
      await emulator.stop();
    }
  });
});
