import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActionableError } from '../errors.ts';
import { checkStateDir, ensureStateDir } from '../support/state-dir.ts';

export interface DemoStateDir {
  path: string;
  /** Removes the folder when the demo made it; a folder the user gave is kept. */
  cleanUp(): void;
}

/**
 * The demo's state folder, checked before anything starts. A folder given with --state-dir passes
 * the daemon's checks (ours, 0700, not a link) and must be empty: the demo's emulator lives in
 * memory and starts empty each time, so a kept state would say every patient is already linked to
 * contacts that no longer exist. Without --state-dir, a new temporary folder removed at the end.
 */
export function demoStateDir(given: string | undefined): DemoStateDir {
  if (given === undefined) {
    const path = mkdtempSync(join(tmpdir(), 'ident-sync-demo-'));
    return { path, cleanUp: () => rmSync(path, { recursive: true, force: true }) };
  }
  try {
    if (checkStateDir(given, { narrow: true }) && readdirSync(given).length > 0)
      throw new ActionableError(
        `--state-dir ${given} already holds files (a previous demo's state?); the demo's emulator starts empty each time, so pick a new folder or remove ${given}`,
        { exitCode: 2 },
      );
    ensureStateDir(given);
  } catch (error) {
    if (!(error instanceof ActionableError)) throw error;
    // The daemon's sentences name STATE_DIR; the demo's user typed --state-dir.
    throw new ActionableError(
      error.message
        .replace(`STATE_DIR=${given}`, `--state-dir ${given}`)
        .replaceAll('STATE_DIR', '--state-dir'),
      { exitCode: 2 },
    );
  }
  return { path: given, cleanUp: () => undefined };
}
