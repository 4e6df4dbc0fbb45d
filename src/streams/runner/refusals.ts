import type { ValidationProblem } from '../../amocrm/errors.ts';
import type { CustomFieldValueOut } from '../../amocrm/types.ts';
import type { StandingRefusals } from '../../state/store.ts';

/**
 * How a refused write is narrowed down, for contacts and deals alike. amoCRM's 400 names the item
 * (`request_id`) and the value's path (`custom_fields_values.3.values.0.value`): the writer drops
 * exactly that value and sends the item again.
 */

/** Problems by item, when they name our items; undefined when they cannot be tied to one. */
export function problemsByItem(
  items: readonly { requestId: string }[],
  problems: readonly ValidationProblem[],
): Map<string, ValidationProblem[]> | undefined {
  const known = new Set(items.map((item) => item.requestId));
  const byItem = new Map<string, ValidationProblem[]>();
  for (const problem of problems) {
    // A single item owns whatever amoCRM says, whichever id it names.
    const requestId = items.length === 1 ? items[0]!.requestId : problem.requestId;
    if (!known.has(requestId)) continue;
    byItem.set(requestId, [...(byItem.get(requestId) ?? []), problem]);
  }
  return byItem.size > 0 ? byItem : undefined;
}

/** A batch refused without naming the item: each half is sent on its own, until the one is alone. */
export async function inHalves<Item>(
  items: readonly Item[],
  send: (part: Item[]) => Promise<void>,
): Promise<void> {
  const half = Math.ceil(items.length / 2);
  await send(items.slice(0, half));
  await send(items.slice(half));
}

export const problemText = (problem: ValidationProblem) =>
  [problem.code, problem.detail].filter((part) => part !== '').join(': ') || 'refused';

export function refusal(problems: readonly ValidationProblem[], noun = 'contact'): string {
  return `amoCRM refused the ${noun}: ${problems.map((problem) => `${problem.path || 'item'}: ${problemText(problem)}`).join('; ')}`;
}

export function describe(
  outcome: { kind: string; error?: Error; problems?: readonly ValidationProblem[] },
  noun = 'contact',
): string {
  if (outcome.problems) return refusal(outcome.problems, noun);
  return outcome.error?.message ?? outcome.kind;
}

export interface Refused {
  field: string;
  detail: string;
}

/**
 * The body without the values amoCRM refused: custom fields by index, and the standard keys
 * `droppable` allows. 'gone' when amoCRM says the entity does not exist (`id`); a reason when a
 * problem cannot be narrowed to a value that may be left out.
 */
export function withoutRefusedValues<Body extends { custom_fields_values?: CustomFieldValueOut[] }>(
  body: Body,
  problems: readonly ValidationProblem[],
  options: { droppable: readonly string[]; keyOf: (entry: CustomFieldValueOut) => string; noun: string },
): { body: Body; refused: Refused[] } | 'gone' | string {
  const customs: CustomFieldValueOut[] = body.custom_fields_values ?? [];
  const dropIndexes = new Set<number>();
  const dropKeys = new Set<string>();
  const refused: Refused[] = [];
  for (const problem of problems) {
    const path = problem.path.trim();
    if (path === 'id' || path.startsWith('id.')) return 'gone';
    const custom = /^custom_fields_values\.(\d+)(?:\.|$)/.exec(path);
    if (custom) {
      const entry = customs[Number(custom[1])];
      if (!entry) return refusal(problems, options.noun);
      dropIndexes.add(Number(custom[1]));
      refused.push({ field: options.keyOf(entry), detail: problemText(problem) });
      continue;
    }
    if (options.droppable.includes(path)) {
      dropKeys.add(path);
      refused.push({ field: path, detail: problemText(problem) });
      continue;
    }
    return refusal(problems, options.noun);
  }
  const next: Body = { ...body, custom_fields_values: customs.filter((_, index) => !dropIndexes.has(index)) };
  for (const key of dropKeys) delete (next as Record<string, unknown>)[key];
  return { body: next, refused };
}

/**
 * A deep sync sends a refused value again when it was last tried this long ago: with deep syncs at
 * 08:00 and 20:00, once a day (the morning's refusals come due the next morning, not that evening).
 * An admin who fixes the field in amoCRM (adds the option, widens the type) gets the value within a day.
 */
export const REFUSAL_RETRY_MS = 20 * 3600_000;

/** Whether a deep sync sends a patient's refused values again (the refusal then excuses no drift). */
export function refusalDue(refusals: StandingRefusals, now: number): boolean {
  return now - refusals.triedAt.getTime() >= REFUSAL_RETRY_MS;
}

/**
 * The hash at which an entity's refusals excuse the values amoCRM lacks; none when a refusal is
 * due to be tried again, so the deep sync sends it (one field of one patient or deal if refused again).
 */
export function excusedAt(refusals: StandingRefusals | undefined, now: number): string | undefined {
  if (!refusals || refusalDue(refusals, now)) return undefined;
  return refusals.hash;
}
