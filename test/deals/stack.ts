import assert from 'node:assert/strict';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import type { ResolvedDealMap } from '../../src/mapping/deal-mapper.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { type DealStack, dealStack } from '../helpers/deal-stack.ts';

/** An emulator of its own (a free port on 127.0.0.1). */
export const attackEmulator = (options: Parameters<typeof startEmulator>[0] = {}) => startEmulator(options);

/** The deal stack of test/helpers (its `hostNow` is the clock the no-show rule reads). */
export type AttackStack = DealStack;
export const attackStack = dealStack;

/** The one deal carrying this reception id. */
export function dealOf(
  emulator: AmoCrmEmulator,
  stack: { dealResolved: ResolvedDealMap },
  receptionId: number,
) {
  const fieldId = stack.dealResolved.fields.find((field) => field.spec.key === 'reception_id')!.fieldId;
  const found = [...emulator.deals.leads.values()].filter((lead) =>
    lead.custom_fields_values?.some(
      (field) => field.field_id === fieldId && String(field.values[0]?.value) === String(receptionId),
    ),
  );
  assert.equal(found.length, 1, `reception ${receptionId} has ${found.length} deals`);
  return found[0]!;
}

export const stageId = (
  stack: { dealResolved: ResolvedDealMap },
  name: string,
  role: 'primary' | 'repeat' = 'primary',
) => stack.dealResolved.pipelines[role].stages.find((candidate) => candidate.name === name)!.id;
