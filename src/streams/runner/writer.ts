import type { BatchItem, WriteOutcome } from '../../amocrm/entities.ts';
import type { ValidationProblem } from '../../amocrm/errors.ts';
import type { CustomFieldValueOut } from '../../amocrm/types.ts';
import type { Logger } from '../../logging/logger.ts';
import { InFlight } from './in-flight.ts';
import { judgePending, type PendingClock, type SentStamp, stampOf } from './pending-age.ts';
import {
  describe,
  inHalves,
  problemsByItem,
  type Refused,
  refusal,
  withoutRefusedValues,
} from './refusals.ts';

/** A write ready to send: its request id and body, what it was mapped from, and what amoCRM refused so far. */
export interface PreparedWrite<Body, Mapped> {
  requestId: string;
  body: Body;
  mapped: Mapped;
  refused: Refused[];
}

type Body = { custom_fields_values?: CustomFieldValueOut[] };

/** The types one stream's writer works with. */
export interface WriteTypes {
  /** One IDENT row, mapped (a contact, a deal…). */
  mapped: unknown;
  /** What the run queues for an update, and for a create. */
  update: unknown;
  create: unknown;
  updateBody: Body & { id: number };
  createBody: Body;
  /** Prepared writes: a stream adds what its saved link needs. */
  preparedUpdate: PreparedWrite<this['updateBody'], this['mapped']>;
  preparedCreate: PreparedWrite<this['createBody'], this['mapped']>;
  /** A create recorded as sent before an earlier run learnt its fate. */
  pending: { sent: SentStamp; knownMaxId: number };
}

/** The amoCRM entity a stream writes: batch writes and a look at one (contacts, leads). */
export interface EntityWrites<Create, Update> {
  write(method: 'post', items: readonly BatchItem<Create>[]): Promise<WriteOutcome>;
  write(method: 'patch', items: readonly BatchItem<Update>[]): Promise<WriteOutcome>;
  getOne(id: number): Promise<unknown>;
}

export interface StreamWriterDeps<T extends WriteTypes> {
  entity: EntityWrites<T['createBody'], T['updateBody']>;
  /** Reads the entity's newest records into the mirror: how a create whose answer was lost is found. */
  refresher: { newestAbove(knownMaxId: number): Promise<unknown> };
  /** The map's fields: a refusal names the field by the map's key. */
  fields: readonly { fieldId: number; spec: { key: string } }[];
  logger: Logger;
  /** Stamps creates when sent and judges how old pending ones are. */
  time: PendingClock;
}

export interface StreamWriterOptions {
  batchSize: number;
  /** Batches sent at once: hides amoCRM's latency while the rate limiter keeps the pace. */
  maxInFlight: number;
  dryRun: boolean;
  /** How long after it was sent a create not seen in amoCRM counts as lost (request timeout + margin). */
  pendingWaitMs: number;
}

/** What became of the creates an earlier run left pending. */
export interface PendingSettled {
  /** Found in amoCRM and linked (their keys). */
  confirmed: string[];
  /** Old enough and still not listed: due now, sent again. */
  missing: number;
  /** Not listed yet, but amoCRM may still apply them: left pending, not sent again. */
  waiting: string[];
}

/** Refusal rounds and halvings one batch may go through before its remaining items are failed. */
const MAX_ROUNDS = 12;

/**
 * How a stream's records are written, once for every stream. Writes go in batches of at most
 * `batchSize`, several in flight. A value amoCRM refuses costs that field of that record: it is sent
 * again without it and the refusal is recorded. Any other refusal of a batch is narrowed down by
 * halving it until the one item is found, which alone fails. A create is never sent twice without
 * proof that the first did not land: it is recorded as pending before the request, and an unclear
 * answer is settled by listing the newest records. A stream supplies what differs: how a write is
 * prepared, what its saved link holds, and the state it keeps.
 */
export abstract class StreamWriter<T extends WriteTypes> {
  protected readonly deps: StreamWriterDeps<T>;
  protected readonly options: StreamWriterOptions;
  private readonly updates: T['update'][] = [];
  private readonly creates: T['create'][] = [];
  private readonly inFlight: InFlight;
  private readonly fieldKeys: Map<number, string>;

  /** How amoCRM's records of this stream are named in messages ('contact', 'deal'). */
  protected abstract readonly noun: string;
  /** The name of a record's key in log lines ('patientId', 'receptionId'). */
  protected abstract readonly keyName: string;
  /** Standard fields a refusal may cost (custom fields always may). */
  protected abstract readonly droppable: readonly string[];

  constructor(deps: StreamWriterDeps<T>, options: StreamWriterOptions) {
    this.deps = deps;
    this.options = options;
    this.inFlight = new InFlight(options.maxInFlight);
    this.fieldKeys = new Map(deps.fields.map((field) => [field.fieldId, field.spec.key]));
  }

  // ── what a stream supplies ─────────────────────────────────────────────────────────────────
  /** The record's stable key (the IDENT id the state keys it by). */
  protected abstract keyOf(mapped: T['mapped']): string;
  /** The amoCRM id an update writes to. */
  protected abstract targetOf(item: T['preparedUpdate']): number;
  /** The updates of a batch, ready to send (a stream may read amoCRM or note intent in the state first). */
  protected abstract prepareUpdates(batch: T['update'][]): Promise<T['preparedUpdate'][]>;
  protected abstract prepareCreate(item: T['create']): T['preparedCreate'];
  /** What a dry run reports for an update, or a create, it does not send. */
  protected abstract dryUpdate(item: T['update']): void;
  protected abstract dryCreate(mapped: T['mapped']): void;
  /** Links and mirror after amoCRM took these updates / creates. */
  protected abstract updated(items: readonly T['preparedUpdate'][]): void;
  protected abstract created(done: readonly { item: T['preparedCreate']; id: number }[]): void;
  /** The record's amoCRM entity is gone: the link ends and the run matches it again. */
  protected abstract gone(mapped: T['mapped'], id: number): Promise<void>;
  /** The run is told: a create whose answer was lost and which amoCRM does not show yet. */
  protected abstract uncertain(mapped: T['mapped']): void;
  protected abstract reportFailed(failures: readonly { key: string; reason: string }[]): void;
  /** The entities carrying this key in the mirror, oldest first. */
  protected abstract carriersOf(key: string): number[];
  /** The highest id the mirror knows: a new entity's id is above it. */
  protected abstract knownMaxId(): number;
  // The stream's pending creates in the state.
  protected abstract addPending(
    items: readonly T['preparedCreate'][],
    knownMaxId: number,
    sent: SentStamp,
  ): void;
  protected abstract restampPending(
    entries: readonly { key: string; sent: SentStamp; refused?: readonly Refused[] }[],
  ): void;
  protected abstract pendingKey(entry: T['pending']): string;
  /** Saves the links of pending creates found in amoCRM and records those lost as failures due now. */
  protected abstract settlePending(
    found: readonly { entry: T['pending']; id: number }[],
    lost: readonly { key: string; reason: string; dueNow: true }[],
  ): void;

  /** An update's refusal, repaired: by default the item without the refused values. */
  protected repairUpdate(
    item: T['preparedUpdate'],
    problems: readonly ValidationProblem[],
  ): T['preparedUpdate'] | 'gone' | string {
    return this.withoutRefused(item, problems);
  }

  /** Several entities carry one key (the oldest is kept in sync): a stream may report it. */
  protected noteCarriers(_key: string, _ids: readonly number[]): void {}

  // ── the queue ──────────────────────────────────────────────────────────────────────────────
  /** The first error a batch threw (403, a lost update answer…): the run stops with it. */
  get fatal(): Error | undefined {
    return this.inFlight.fatal;
  }

  get queued(): number {
    return this.updates.length + this.creates.length;
  }

  async update(item: T['update']): Promise<void> {
    this.updates.push(item);
    if (this.updates.length >= this.options.batchSize)
      await this.inFlight.dispatch(this.sendUpdates(this.updates.splice(0)));
  }

  async create(item: T['create']): Promise<void> {
    this.creates.push(item);
    if (this.creates.length >= this.options.batchSize)
      await this.inFlight.dispatch(this.sendCreates(this.creates.splice(0)));
  }

  /** Sends what is queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    if (!this.fatal) {
      if (this.updates.length > 0) await this.inFlight.dispatch(this.sendUpdates(this.updates.splice(0)));
      if (this.creates.length > 0) await this.inFlight.dispatch(this.sendCreates(this.creates.splice(0)));
    }
    await this.settle();
  }

  settle(): Promise<void> {
    return this.inFlight.settle();
  }

  // ── creates left by an earlier run ─────────────────────────────────────────────────────────
  /**
   * Creates an earlier run sent without learning their fate: found in amoCRM → linked. Not there
   * → lost only when amoCRM has had time to apply it (sent longer ago than the request timeout
   * plus a margin, judged before the listing that proves it absent begins): then a failure due
   * now, in the same transaction that ends the pending entry, so the record is read and sent
   * again in this run or, if it ends first, the next. A younger one stays pending, untouched.
   */
  async confirmPending(pending: readonly T['pending'][]): Promise<PendingSettled> {
    if (pending.length === 0) return { confirmed: [], missing: 0, waiting: [] };
    const old = new Set<string>();
    const restamp: { key: string; sent: SentStamp }[] = [];
    for (const entry of pending) {
      const key = this.pendingKey(entry);
      const age = judgePending(entry.sent, this.deps.time, this.options.pendingWaitMs);
      if (age.old) old.add(key);
      if (age.restamp) restamp.push({ key, sent: age.restamp });
    }
    this.restampPending(restamp);
    // Begun after the ages were judged: what it does not list had had its time.
    await this.deps.refresher.newestAbove(Math.min(...pending.map((entry) => entry.knownMaxId)));
    const found: { entry: T['pending']; id: number }[] = [];
    const lost: { key: string; reason: string; dueNow: true }[] = [];
    const waiting: string[] = [];
    for (const entry of pending) {
      const key = this.pendingKey(entry);
      const carriers = this.carriersOf(key);
      if (carriers.length === 0) {
        if (!old.has(key)) waiting.push(key);
        else
          lost.push({
            key,
            reason: `a ${this.noun} create sent earlier never reached amoCRM; it is sent again`,
            dueNow: true,
          });
        continue;
      }
      this.noteCarriers(key, carriers);
      found.push({ entry, id: carriers[0]! });
    }
    this.settlePending(found, lost);
    return {
      confirmed: found.map(({ entry }) => this.pendingKey(entry)),
      missing: lost.length,
      waiting,
    };
  }

  // ── updates ────────────────────────────────────────────────────────────────────────────────
  private async sendUpdates(batch: T['update'][]): Promise<void> {
    if (this.options.dryRun) {
      for (const item of batch) this.dryUpdate(item);
      return;
    }
    await this.patch(await this.prepareUpdates(batch), 0);
  }

  private async patch(items: T['preparedUpdate'][], round: number): Promise<void> {
    if (items.length === 0) return;
    if (round > MAX_ROUNDS) return this.failAll(items, `amoCRM kept refusing the ${this.noun} update`);
    const outcome = await this.deps.entity.write('patch', items.map(asBatchItem));
    if (outcome.kind === 'stored') return this.updated(items);
    if (outcome.kind === 'uncertain') throw outcome.error;
    const byItem = outcome.kind === 'refused' ? problemsByItem(items, outcome.problems) : undefined;
    if (byItem) {
      const next: T['preparedUpdate'][] = [];
      for (const item of items) {
        const problems = byItem.get(item.requestId);
        // An update is safe to send twice: the items amoCRM did not object to go again.
        if (!problems) {
          next.push(item);
          continue;
        }
        const repaired = this.repairUpdate(item, problems);
        if (repaired === 'gone') await this.gone(item.mapped, this.targetOf(item));
        else if (typeof repaired === 'string') this.fail(item, repaired);
        else next.push(repaired);
      }
      return this.patch(next, round + 1);
    }
    // Refused without saying which item (or with another 4xx): halve until the one is found.
    if (items.length > 1) {
      await inHalves(items, (part) => this.patch(part, round + 1));
      return;
    }
    const [item] = items as [T['preparedUpdate']];
    // amoCRM's answer to a PATCH of a deleted entity is not documented: whether it still exists decides.
    if (!(await this.deps.entity.getOne(this.targetOf(item))))
      return this.gone(item.mapped, this.targetOf(item));
    this.fail(item, `amoCRM refused the ${this.noun} update: ${describe(outcome, this.noun)}`);
  }

  // ── creates ────────────────────────────────────────────────────────────────────────────────
  private async sendCreates(batch: T['create'][]): Promise<void> {
    const items = batch.map((item) => this.prepareCreate(item));
    if (this.options.dryRun) {
      for (const item of items) this.dryCreate(item.mapped);
      return;
    }
    const knownMaxId = this.knownMaxId();
    // Written before the request: after a crash or a lost answer these are looked up, not created again.
    this.addPending(items, knownMaxId, stampOf(this.deps.time));
    await this.post(items, knownMaxId, 0);
  }

  private async post(items: T['preparedCreate'][], knownMaxId: number, round: number): Promise<void> {
    if (items.length === 0) return;
    if (round > MAX_ROUNDS) return this.failAll(items, `amoCRM kept refusing the new ${this.noun}`);
    // Sent again (without a refused value, or in halves): their wait counts from now.
    if (round > 0) {
      const sent = stampOf(this.deps.time);
      this.restampPending(
        items.map((item) => ({ key: this.keyOf(item.mapped), sent, refused: item.refused })),
      );
    }
    const outcome = await this.deps.entity.write('post', items.map(asBatchItem));
    if (outcome.kind === 'stored') {
      this.created(
        items
          .filter((item) => outcome.ids.has(item.requestId))
          .map((item) => ({ item, id: outcome.ids.get(item.requestId)! })),
      );
      // An answer that leaves items out says nothing of them: as for a lost answer.
      const unanswered = items.filter((item) => !outcome.ids.has(item.requestId));
      for (const item of await this.landed(unanswered, knownMaxId)) this.uncertain(item.mapped);
      return;
    }
    if (outcome.kind === 'uncertain') {
      // The request may still be applied after we stopped waiting: what is not there yet stays
      // pending and is looked up again by the next run, never sent twice now.
      for (const item of await this.landed(items, knownMaxId)) this.uncertain(item.mapped);
      return;
    }
    const byItem = outcome.kind === 'refused' ? problemsByItem(items, outcome.problems) : undefined;
    if (byItem) {
      // Whether amoCRM stored the others despite refusing the request is not documented: look first.
      const next = await this.landed(
        items.filter((item) => !byItem.has(item.requestId)),
        knownMaxId,
      );
      for (const item of items) {
        const problems = byItem.get(item.requestId);
        if (!problems) continue;
        const repaired = this.withoutRefused(item, problems);
        if (typeof repaired === 'string')
          this.fail(item, repaired === 'gone' ? refusal(problems, this.noun) : repaired);
        else next.push(repaired);
      }
      return this.post(next, knownMaxId, round + 1);
    }
    const notThere = await this.landed(items, knownMaxId);
    if (notThere.length > 1) {
      await inHalves(notThere, (part) => this.post(part, knownMaxId, round + 1));
      return;
    }
    for (const item of notThere)
      this.fail(item, `amoCRM refused the new ${this.noun}: ${describe(outcome, this.noun)}`);
  }

  /** Which of these creates amoCRM holds after all (linked now); returns the ones it does not. */
  private async landed(items: T['preparedCreate'][], knownMaxId: number): Promise<T['preparedCreate'][]> {
    if (items.length === 0) return [];
    await this.deps.refresher.newestAbove(knownMaxId);
    const found: { item: T['preparedCreate']; id: number }[] = [];
    const missing: T['preparedCreate'][] = [];
    for (const item of items) {
      const key = this.keyOf(item.mapped);
      const carriers = this.carriersOf(key);
      if (carriers.length === 0) missing.push(item);
      else {
        this.noteCarriers(key, carriers);
        found.push({ item, id: carriers[0]! });
      }
    }
    this.created(found);
    return missing;
  }

  // ── refusals ───────────────────────────────────────────────────────────────────────────────
  /**
   * The item without the values amoCRM refused (named by the problems' paths), to send again; 'gone'
   * when amoCRM says the entity does not exist; a reason when the refusal cannot be narrowed to a field.
   */
  protected withoutRefused<Item extends PreparedWrite<Body, T['mapped']>>(
    item: Item,
    problems: readonly ValidationProblem[],
  ): Item | 'gone' | string {
    const result = withoutRefusedValues(item.body, problems, {
      droppable: this.droppable,
      keyOf: (entry) => this.fieldKey(entry),
      noun: this.noun,
    });
    if (typeof result === 'string') return result;
    return { ...item, body: result.body, refused: [...item.refused, ...result.refused] };
  }

  /** A custom field's key in the map (its code for a standard one like PHONE). */
  protected fieldKey(entry: Pick<CustomFieldValueOut, 'field_code' | 'field_id'>): string {
    if (entry.field_code) return entry.field_code;
    return this.fieldKeys.get(entry.field_id ?? -1) ?? `field ${entry.field_id}`;
  }

  protected noteRefused(item: PreparedWrite<unknown, T['mapped']>): void {
    if (item.refused.length === 0) return;
    this.deps.logger.warn(
      { [this.keyName]: this.keyOf(item.mapped), fields: item.refused.map((refused) => refused.field) },
      `amoCRM refused some values; the ${this.noun} was written without them (\`ident-sync status\` lists them)`,
    );
  }

  private fail(item: PreparedWrite<unknown, T['mapped']>, reason: string): void {
    this.reportFailed([{ key: this.keyOf(item.mapped), reason }]);
  }

  private failAll(items: readonly PreparedWrite<unknown, T['mapped']>[], reason: string): void {
    this.reportFailed(items.map((item) => ({ key: this.keyOf(item.mapped), reason })));
  }
}

const asBatchItem = <Body>(item: PreparedWrite<Body, unknown>): BatchItem<Body> => ({
  requestId: item.requestId,
  body: item.body,
});
