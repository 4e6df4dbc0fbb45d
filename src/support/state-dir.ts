import { accessSync, constants, lstatSync, mkdirSync, statSync } from 'node:fs';
import { ActionableError } from '../errors.ts';

/**
 * STATE_DIR holds the amoCRM tokens: it must belong to the user that runs ident-sync, and nobody
 * else may write to it (another user could otherwise swap files in it and read the tokens). It is
 * created owner-only when missing. A problem is one sentence naming STATE_DIR, exit code 2.
 */
export function ensureStateDir(stateDir: string): void {
  const fail = (why: string) => new ActionableError(`STATE_DIR=${stateDir} ${why}`, { exitCode: 2 });
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fail(
      `cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); point STATE_DIR at a folder this user may write`,
    );
  }
  const info = statSync(stateDir);
  if (!info.isDirectory()) throw fail('is not a folder; point STATE_DIR at a folder');
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid)
    throw fail(
      `belongs to another user (uid ${info.uid}); use a folder of this user (uid ${uid}), e.g. chown it`,
    );
  if ((info.mode & 0o022) !== 0)
    throw fail(
      `is writable by group or others (mode ${(info.mode & 0o777).toString(8)}); run \`chmod go-w ${stateDir}\``,
    );
  try {
    accessSync(stateDir, constants.W_OK);
  } catch {
    throw fail('is not writable by this user; point STATE_DIR at a folder this user may write');
  }
}

/** A token file that is a symbolic link is refused: reading or replacing it would follow the link. */
export function refuseSymlink(path: string, what: string): void {
  try {
    if (lstatSync(path).isSymbolicLink())
      throw new ActionableError(
        `${what} ${path} is a symbolic link; remove it and run \`ident-sync auth\` again`,
        {
          exitCode: 2,
        },
      );
  } catch (error) {
    if (error instanceof ActionableError) throw error;
    // Missing: nothing to refuse.
  }
}
