import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../support/atomic-file.ts';

/**
 * Whether amoCRM honours `filter[id]` on this account. The filter belongs to the paid "Фильтрация
 * (Alpha)" option (amocrm-api-php #614); without it amoCRM ignores the filter and lists the whole
 * account (#71). Lookups by id that noticed it read each entity on its own (`GET /{entity}/{id}`).
 */
export interface IdFilterMemory {
  /** True when the filter is known to be ignored: read ids one at a time. */
  ignored(): boolean;
  /** A listing filtered by id answered with an entity nobody asked for. */
  noteIgnored(): void;
  /** What `GET /api/v4/account` says (`is_api_filter_enabled`). */
  noteAccountFlag(enabled: boolean): void;
}

/** Remembered by this process only (tests, the emulator's own tools). */
export function memoryIdFilter(): IdFilterMemory {
  let off = false;
  return {
    ignored: () => off,
    noteIgnored: () => {
      off = true;
    },
    noteAccountFlag: (enabled) => {
      if (!enabled) off = true;
    },
  };
}

export const ID_FILTER_FILE = 'amocrm-id-filter.json';

/**
 * After this long the filter is tried again (one wasted request when it is still off): an admin
 * may have bought the option since.
 */
export const ID_FILTER_RECHECK_MS = 7 * 86_400_000;

interface Stored {
  /** The account host this applies to. */
  host: string;
  /** When amoCRM was last seen ignoring `filter[id]` (ms since the epoch). */
  ignoredAt: number;
}

/**
 * Remembered in STATE_DIR, per account host, across runs: a daemon that restarts does not pay the
 * discovery again (one listing page), and a one-off command next to it knows too. The account's
 * `is_api_filter_enabled: false` counts as seen; `true` does not clear what was seen, since a
 * listing that answered foreign ids is the stronger evidence.
 */
export class StoredIdFilter implements IdFilterMemory {
  private readonly path: string;
  private readonly host: string;
  private readonly now: () => number;
  private ignoredAt: number | undefined;

  constructor(stateDir: string, baseUrl: string, now: () => number = Date.now) {
    this.path = join(stateDir, ID_FILTER_FILE);
    this.host = new URL(baseUrl).host.toLowerCase();
    this.now = now;
    this.ignoredAt = this.read();
  }

  ignored(): boolean {
    return this.ignoredAt !== undefined && this.now() - this.ignoredAt < ID_FILTER_RECHECK_MS;
  }

  noteIgnored(): void {
    this.ignoredAt = this.now();
    try {
      const stored: Stored = { host: this.host, ignoredAt: this.ignoredAt };
      writeFileAtomic(this.path, `${JSON.stringify(stored)}\n`);
    } catch {
      // Remembered in memory still; the next process discovers it again with one page.
    }
  }

  noteAccountFlag(enabled: boolean): void {
    if (!enabled && !this.ignored()) this.noteIgnored();
  }

  private read(): number | undefined {
    if (!existsSync(this.path)) return undefined;
    try {
      const stored = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<Stored>;
      return stored.host === this.host && typeof stored.ignoredAt === 'number' ? stored.ignoredAt : undefined;
    } catch {
      return undefined;
    }
  }
}
