import type { StateStore } from '../state/store.ts';
import type { Clock } from '../support/clock.ts';

interface Anchor {
  /** What the duration is of (a run's id): another thing starts a new duration. */
  of: string;
  /** Where it began on the monotonic clock of `boot`. */
  mono: number;
  boot: string;
}

const PREFIX = 'alerts_since_';

/**
 * How long something has lasted, robust to the wall clock stepping either way. The wall clock
 * gives its age once, when it is first seen (never less than 0); from then on, within one boot,
 * the monotonic clock adds to it, so a step of NTP or a restored VM changes nothing. After a
 * reboot the monotonic clock starts again, and the wall clock gives the age once more.
 */
export class Durations {
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly boot: string;

  constructor(store: StateStore, clock: Clock, boot: string) {
    this.store = store;
    this.clock = clock;
    this.boot = boot;
  }

  /** Milliseconds since `since` (wall time) of the thing `of` names, under the name `key`. */
  since(key: string, of: string, since: Date): number {
    const mono = this.clock.monotonic();
    const anchor = this.read(key);
    if (anchor && anchor.of === of && this.boot !== '' && anchor.boot === this.boot)
      return Math.max(0, mono - anchor.mono);
    const age = Math.max(0, this.clock.now() - since.getTime());
    this.store.setMeta(PREFIX + key, JSON.stringify({ of, mono: mono - age, boot: this.boot }));
    return age;
  }

  forget(key: string): void {
    if (this.store.getMeta(PREFIX + key) !== undefined) this.store.setMeta(PREFIX + key, undefined);
  }

  private read(key: string): Anchor | undefined {
    const text = this.store.getMeta(PREFIX + key);
    if (text === undefined) return undefined;
    try {
      const anchor = JSON.parse(text) as Partial<Anchor>;
      return typeof anchor.of === 'string' &&
        typeof anchor.mono === 'number' &&
        typeof anchor.boot === 'string'
        ? (anchor as Anchor)
        : undefined;
    } catch {
      return undefined;
    }
  }
}
