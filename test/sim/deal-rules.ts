import type { Reception } from '../helpers/memory-receptions.ts';

/**
 * README's deal rules, written out here from IDENT's data alone: the harness must not agree with
 * the engine by construction, so nothing of src/mapping (the deal map, its matcher, the mapper) is
 * read. The names are those `fields --create --pipelines` makes from the shipped deal map.
 */
export const PRIMARY = 'Первичные пациенты';
export const REPEAT = 'Повторные пациенты';
export const BOOKED = 'Записан';
export const NO_SHOW = 'Не пришёл';
export const ARRIVED = 'Пациент пришёл';
/** The stages the shipped map names in each pipeline (anything else an admin added). */
export const MAP_STAGES = [BOOKED, NO_SHOW, ARRIVED];

/** Cancel reasons the simulated clinic uses; the first two mean the patient did not come. */
export const CANCEL_REASONS = ['Неявка', 'Пациент не пришёл', 'Перенос по просьбе пациента', 'Болезнь'];
export const NO_SHOW_REASONS = new Set(CANCEL_REASONS.slice(0, 2));

/** The no-show rule: still booked this long after the planned end (README, "No-shows"). */
export const NO_SHOW_AFTER_MS = 3 * 3_600_000;
/** Every simulated visit lasts half an hour (MemoryReceptions' PlanEnd). */
export const VISIT_MS = 30 * 60_000;

export type Stage = 'won' | 'lost' | typeof BOOKED | typeof NO_SHOW | typeof ARRIVED;

/**
 * A reception's stage by README: cancelled with a no-show reason → «Не пришёл»; cancelled (a stamp
 * or a reason) → lost; completed → won; arrived → «Пациент пришёл»; still booked 3 h after its
 * planned end → «Не пришёл»; else «Записан».
 */
export function stageOf(row: Reception, now: number): Stage {
  if (row.CancelReason && NO_SHOW_REASONS.has(row.CancelReason)) return NO_SHOW;
  if (row.CanceledAt || row.CancelReason) return 'lost';
  if (row.EndedAt) return 'won';
  if (row.ArrivedAt) return ARRIVED;
  if (row.PlanStart.getTime() + VISIT_MS + NO_SHOW_AFTER_MS <= now) return NO_SHOW;
  return BOOKED;
}

/** Repeat once the patient has a completed, not cancelled visit planned before this one. */
export function pipelineOf(row: Reception, all: Iterable<Reception>): typeof PRIMARY | typeof REPEAT {
  for (const other of all)
    if (
      other.ReceptionId !== row.ReceptionId &&
      other.PatientId === row.PatientId &&
      other.PlanStart < row.PlanStart &&
      other.EndedAt &&
      !other.CanceledAt &&
      !other.CancelReason
    )
      return REPEAT;
  return PRIMARY;
}

/** What the sync acts on: the state and the pipeline ("until the reception changes in IDENT"). */
export function keyOf(row: Reception | undefined, all: Iterable<Reception>, now: number): string {
  return row ? `${stageOf(row, now)}|${pipelineOf(row, all)}` : 'deleted';
}
