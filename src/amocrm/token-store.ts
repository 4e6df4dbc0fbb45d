import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateFile, refuseSymlink } from '../support/state-dir.ts';
import { AmoCrmError } from './errors.ts';
import { registerSecret } from '../logging/redact.ts';
import { writeFileAtomic } from '../support/atomic-file.ts';

export interface StoredTokens {
  /** The account host the tokens belong to, e.g. https://clinic.amocrm.ru */
  baseUrl: string;
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** When this pair was obtained (code exchange or refresh). */
  obtainedAt: number;
}

export const TOKEN_FILE = 'amocrm-tokens.json';

/** The OAuth token pair on disk: one JSON file in STATE_DIR, owner-only, replaced atomically. */
export class TokenStore {
  readonly path: string;
  readonly lockPath: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, TOKEN_FILE);
    this.lockPath = join(stateDir, `${TOKEN_FILE}.lock`);
  }

  read(): StoredTokens | undefined {
    refuseSymlink(this.path, 'the amoCRM token file');
    if (!existsSync(this.path)) return undefined;
    // A file copied in by hand may carry loose permissions: ours are narrowed, another user's refused.
    ensurePrivateFile(this.path, 'the amoCRM token file', { create: false });
    let parsed: Partial<StoredTokens> | null;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<StoredTokens> | null;
    } catch {
      // An auth problem, not an outage: the daemon waits for a person instead of retrying.
      throw new AmoCrmError(
        'auth',
        `${this.path} is not readable JSON; run \`ident-sync auth\` to authorise again`,
      );
    }
    if (
      !parsed ||
      typeof parsed !== 'object' ||
      typeof parsed.accessToken !== 'string' ||
      typeof parsed.refreshToken !== 'string' ||
      typeof parsed.expiresAt !== 'number' ||
      typeof parsed.baseUrl !== 'string'
    ) {
      throw new AmoCrmError('auth', `${this.path} is incomplete; run \`ident-sync auth\` to authorise again`);
    }
    registerSecret(parsed.accessToken);
    registerSecret(parsed.refreshToken);
    return { obtainedAt: 0, ...parsed } as StoredTokens;
  }

  /**
   * Refuses now what `write` would refuse later: `auth` calls it before the single-use code is
   * exchanged, so a planted link or another user's file does not cost the person their code.
   */
  assertWritable(): void {
    refuseSymlink(this.path, 'the amoCRM token file');
    ensurePrivateFile(this.path, 'the amoCRM token file', { create: false });
  }

  write(tokens: StoredTokens): void {
    refuseSymlink(this.path, 'the amoCRM token file');
    registerSecret(tokens.accessToken);
    registerSecret(tokens.refreshToken);
    writeFileAtomic(this.path, `${JSON.stringify(tokens, null, 2)}\n`, 0o600);
  }
}
