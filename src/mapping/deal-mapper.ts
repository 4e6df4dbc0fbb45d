import type { LeadCreate, LeadUpdate } from '../amocrm/types.ts';
import type { ResolvedField } from './catalogue.ts';
import type { DealMap, PipelineRole } from './deal-map.ts';
import { hashParts } from './hash.ts';
import {
  fieldValuesOut,
  type DocumentValue,
  documentFields,
  type FieldNote,
  fillTemplate,
  type PatientRow,
  readId,
} from './mapper.ts';
import type { ResolvedPipelines, ResolvedStage } from './pipelines.ts';
import { receptionState } from './reception-state.ts';
import type { DateRules } from './transforms/dates.ts';
import { NUMBER_KINDS, toNumber } from './transforms/numbers.ts';
import { isBlank } from './transforms/outcome.ts';
import { splitScopedId } from '../sources/source-key.ts';

export type ReceptionRow = PatientRow;

/** The deal map with amoCRM's ids: its fields, its pipelines and their stages. */
export interface ResolvedDealMap {
  map: DealMap;
  fields: readonly ResolvedField[];
  pipelines: ResolvedPipelines;
}

/** The deal as the map makes it (without its stage): the thing that is hashed. */
export interface DealDocument {
  name: string;
  price: number;
  fields: { field_id: number; key: string; value: DocumentValue | null }[];
}

/** Where the map puts a deal: the reception's state and the pipeline it belongs in. */
export interface Placement {
  state: string;
  role: PipelineRole;
  pipelineId: number;
  stage: ResolvedStage;
}

export interface MappedDeal {
  receptionId: string;
  patientId: string;
  document: DealDocument;
  /** `dealHash` of the document: name, price and custom fields; the stage is compared on its own. */
  hash: string;
  placement: Placement;
  notes: FieldNote[];
}

export type DealOutcome =
  | { ok: true; deal: MappedDeal }
  | { ok: false; receptionId: string | undefined; reason: string; notes: FieldNote[] };

/** `identNow`: IDENT's clock (as its driver hands dates over), for the no-show rule when known. */
export type DealMapper = (row: ReceptionRow, identNow?: Date) => DealOutcome;

/** The hash of what the sync owns in a deal: its name, price and mapped custom fields. */
export const dealHash = (document: DealDocument): string =>
  hashParts([document.name, document.price], document.fields);

export function createDealMapper(
  resolved: ResolvedDealMap,
  /** `bareSource`: in a chain, the key of the clinic whose ids are kept bare (for its own pipelines). */
  options: { timeZone: string; now?: () => Date; bareSource?: string },
): DealMapper {
  const now = options.now ?? (() => new Date());
  const { map, pipelines } = resolved;
  return (row, identNow) => {
    const receptionId = readId(row.ReceptionId);
    const notes: FieldNote[] = [];
    try {
      if (receptionId === undefined)
        return { ok: false, receptionId, reason: 'the row has no ReceptionId', notes };
      const patientId = readId(row.PatientId);
      if (patientId === undefined)
        return { ok: false, receptionId, reason: 'the reception has no PatientId', notes };
      const rules: DateRules & { maxAge: number } = {
        timeZone: options.timeZone,
        now: now(),
        placeholderUntil: '1900-01-01',
        allowFuture: true,
        maxAge: 130,
      };
      const fields = documentFields(
        resolved.fields,
        row,
        rules,
        { key: 'reception_id', id: receptionId },
        notes,
      );
      if (typeof fields === 'string') return { ok: false, receptionId, reason: fields, notes };
      const document: DealDocument = {
        name:
          fillTemplate(map.deal.name.template, row, map.deal.name.maxLength) ||
          fillTemplate(
            map.deal.name.fallback,
            { ...row, ReceptionId: receptionId },
            map.deal.name.maxLength,
          ) ||
          `IDENT ${receptionId}`,
        price: priceOf(map, row, notes),
        fields,
      };
      const role: PipelineRole = isBlank(row[map.pipelines.repeatWhen.present]) ? 'primary' : 'repeat';
      // A chain clinic's visits go to its own pipelines where the map gives it some.
      const set = pipelines.of(splitScopedId(receptionId).key ?? options.bareSource);
      const state = receptionState(map, row, rules.now, options.timeZone, identNow);
      return {
        ok: true,
        deal: {
          receptionId,
          patientId,
          document,
          hash: dealHash(document),
          placement: {
            state,
            role,
            pipelineId: set[role].id,
            stage: set.target(state, role),
          },
          notes,
        },
      };
    } catch (error) {
      return { ok: false, receptionId, reason: `mapping failed: ${(error as Error).message}`, notes };
    }
  };
}

/** Whole rubles, never below zero (amoCRM's price is a whole number); empty is 0. */
function priceOf(map: DealMap, row: ReceptionRow, notes: FieldNote[]): number {
  if (!map.deal.price) return 0;
  const made = toNumber(row[map.deal.price.source], NUMBER_KINDS.money);
  if (made.note) notes.push({ field: 'price', note: made.note });
  return made.kind === 'value' ? Math.max(0, Math.round(made.value)) : 0;
}

const valuesOut = fieldValuesOut;

/** A new deal, linked to its contact in the same request, in its pipeline and stage. */
export function toLeadCreate(deal: MappedDeal, contactId: number): LeadCreate {
  return {
    name: deal.document.name,
    price: deal.document.price,
    pipeline_id: deal.placement.pipelineId,
    status_id: deal.placement.stage.id,
    custom_fields_values: deal.document.fields
      .filter((field) => field.value !== null)
      .map((field) => ({ field_id: field.field_id, values: valuesOut(field.value!) })),
    _embedded: { contacts: [{ id: contactId, is_main: true }] },
  };
}

/**
 * An existing deal: its content (empty fields cleared with `values: null`), and its stage only
 * when `move` says so — the stage rules decide that, not the content.
 */
export function toLeadUpdate(
  deal: MappedDeal,
  leadId: number,
  move: { pipelineId: number; statusId: number } | undefined,
): LeadUpdate {
  return {
    id: leadId,
    name: deal.document.name,
    price: deal.document.price,
    ...(move ? { pipeline_id: move.pipelineId, status_id: move.statusId } : {}),
    custom_fields_values: deal.document.fields.map((field) => ({
      field_id: field.field_id,
      values: field.value === null ? null : valuesOut(field.value),
    })),
  };
}
