import { type EntitiesApi, type ListedEntity, UnorderedListingError } from '../../amocrm/entities.ts';
import { hash } from 'node:crypto';
import type { Logger } from '../../logging/logger.ts';
import type { ResolvedField } from '../../mapping/catalogue.ts';
import type { ListedMirror } from '../../state/stream/mirror-base.ts';

/**
 * The watermark comes from data actually read: the newest `updated_at` amoCRM listed, less this
 * margin (an entity stamped just before it but committed after the listing, or stamped by a server
 * whose clock runs a little behind, is read again by the next refresh). Never from amoCRM's `Date`
 * header: that clock can run ahead of the one stamping `updated_at` (issue 18, hole 2), and a
 * watermark ahead of the stamps skips what was never read. A listing that read nothing keeps the
 * watermark it had. One entity amoCRM makes visible later still waits for the next deep sync.
 */
export const WATERMARK_OVERLAP_SECONDS = 10;

/**
 * What the mirror's hashes depend on: the form version, the zone and the resolved fields. A mirror
 * made under another fingerprint compares with nothing, so it is read again in full.
 */
export function readFormFingerprint(
  version: number,
  timeZone: string,
  fields: readonly ResolvedField[],
): string {
  const shape = fields.map((field) => [
    field.spec.key,
    field.fieldId,
    field.spec.type,
    field.spec.transform ?? null,
    [...field.enumIds],
  ]);
  return hash('sha256', JSON.stringify([version, timeZone, shape]), 'hex').slice(0, 32);
}

export interface RefreshReport {
  kind: 'full' | 'since watermark' | 'skipped';
  read: number;
  removed: number;
}

/**
 * Brings a mirror up to date with an amoCRM list (contacts, deals). A complete listing (deep
 * syncs, a new or changed map) reads every entity; those it did not see are looked up by id before
 * they are dropped, as a deletion during the listing shifts the pages. An incremental refresh reads
 * entities by `updated_at`, newest first, back to the last watermark: usually one request. It never
 * relies on `filter[updated_at]`, which amoCRM silently ignores on accounts without API filtering.
 */
export class ListingRefresher<Entity extends ListedEntity> {
  private readonly api: EntitiesApi<Entity, unknown, { id: number }>;
  private readonly mirror: ListedMirror;
  private readonly store: (page: readonly Entity[], generation: number) => void;
  private readonly logger: Logger;
  private readonly noun: string;
  readonly fingerprint: string;

  constructor(parts: {
    api: EntitiesApi<Entity, unknown, { id: number }>;
    mirror: ListedMirror;
    /** Stores a page of entities into the mirror, in its form. */
    store: (page: readonly Entity[], generation: number) => void;
    /** The form entities are read in: another one makes the mirror's hashes meaningless. */
    fingerprint: string;
    logger: Logger;
  }) {
    this.api = parts.api;
    this.mirror = parts.mirror;
    this.store = parts.store;
    this.fingerprint = parts.fingerprint;
    this.logger = parts.logger;
    this.noun = parts.api.kind === 'leads' ? 'deal' : 'contact';
  }

  /** Whether the mirror was ever read in full in the current form. */
  get complete(): boolean {
    const state = this.mirror.state();
    return state.fullAt !== undefined && state.form === this.fingerprint;
  }

  /** A complete listing when asked or needed, otherwise the changes since the watermark. */
  async refresh(full: boolean): Promise<RefreshReport> {
    if (full || !this.complete) return this.full();
    return this.sinceWatermark();
  }

  async full(): Promise<RefreshReport> {
    const started = Date.now();
    const before = this.mirror.state();
    if (before.form !== this.fingerprint) this.mirror.setState({ form: this.fingerprint, fullAt: undefined });
    // Recorded first: rows a listing interrupted by a crash had marked cannot pass as seen by the next.
    const generation = before.generation + 1;
    this.mirror.setState({ generation });
    // Where amoCRM's updated_at clock stood as the listing began: anything changed later carries
    // a newer stamp. The newest stamp of the listing itself would not do: an entity listed early
    // and changed before the last page is stamped below it.
    const newestBefore = await this.newestStamp(generation);
    let read = 0;
    // Overlapping windows: a deletion during the listing cannot hide an entity (hole 9).
    for await (const page of this.api.everyEntity()) {
      this.store(page, generation);
      read += page.length;
    }
    let removed = 0;
    for (;;) {
      const unseen = this.mirror.unseen(generation, 250);
      if (unseen.length === 0) break;
      const found = await this.api.getByIds(unseen);
      this.store(found, generation);
      const present = new Set(found.map((entity) => entity.id));
      const gone = unseen.filter((id) => !present.has(id));
      this.mirror.remove(gone);
      removed += gone.length;
    }
    this.mirror.setState({
      fullAt: new Date().toISOString(),
      // Entities changed while the listing ran are read again by the next incremental refresh.
      watermark: newestBefore === undefined ? before.watermark : newestBefore - WATERMARK_OVERLAP_SECONDS,
      form: this.fingerprint,
    });
    this.logger.info(
      { [this.api.kind]: read, removed, ms: Date.now() - started },
      `read every amoCRM ${this.noun} into the mirror`,
    );
    return { kind: 'full', read, removed };
  }

  async sinceWatermark(): Promise<RefreshReport> {
    const state = this.mirror.state();
    let read = 0;
    let newest: number | undefined;
    try {
      for await (const page of this.api.newestFirst(
        'updated_at',
        (seen) => (seen.at(-1)?.updated_at ?? 0) < state.watermark,
      )) {
        this.store(page, state.generation);
        read += page.length;
        for (const entity of page) newest = Math.max(newest ?? 0, entity.updated_at ?? 0);
      }
    } catch (error) {
      if (!(error instanceof UnorderedListingError)) throw error;
      // Without a working order the changes cannot be read cheaply: the next deep sync reads all.
      this.logger.warn(
        `amoCRM ignores order[updated_at] on this account; the ${this.noun} mirror is refreshed by deep syncs only`,
      );
      return { kind: 'skipped', read, removed: 0 };
    }
    // Nothing listed (an empty account): the watermark stays where it was.
    if (newest !== undefined)
      this.mirror.setState({ watermark: Math.max(state.watermark, newest - WATERMARK_OVERLAP_SECONDS) });
    return { kind: 'since watermark', read, removed: 0 };
  }

  /**
   * The newest `updated_at` amoCRM holds now (one request, its page stored into the mirror);
   * undefined when the account is empty or amoCRM does not sort by updated_at here.
   */
  private async newestStamp(generation: number): Promise<number | undefined> {
    try {
      for await (const page of this.api.newestFirst('updated_at', () => true)) {
        this.store(page, generation);
        return Math.max(...page.map((entity) => entity.updated_at ?? 0));
      }
    } catch (error) {
      if (!(error instanceof UnorderedListingError)) throw error;
    }
    return undefined;
  }

  /**
   * Entities created after `knownMaxId` (newest first by id, usually one page) into the mirror:
   * whether a create whose answer was lost landed. Where amoCRM ignores the order, the whole
   * list is read instead, since "not listed" would otherwise prove nothing.
   */
  async newestAbove(knownMaxId: number): Promise<void> {
    const generation = this.mirror.state().generation;
    try {
      for await (const page of this.api.newestFirst('id', (seen) => (seen.at(-1)?.id ?? 0) <= knownMaxId)) {
        this.store(
          page.filter((entity) => entity.id > knownMaxId),
          generation,
        );
      }
    } catch (error) {
      if (!(error instanceof UnorderedListingError)) throw error;
      this.logger.warn(
        `amoCRM ignores order[id] on this account; reading every ${this.noun} to confirm new ones`,
      );
      await this.full();
    }
  }
}
