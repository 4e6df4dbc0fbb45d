import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  type Stats,
} from 'node:fs';
import { ActionableError } from '../errors.ts';

const fail = (message: string) => new ActionableError(message, { exitCode: 2 });

const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/**
 * STATE_DIR holds the amoCRM tokens and every patient's phones and e-mails: it must belong to the
 * user that runs ident-sync and be that user's alone (0700). It is created 0700 when missing; a
 * folder of ours that others may only read is narrowed to 0700; one that others may write is
 * refused (a file may already have been planted in it), as is a folder of another user or a
 * symbolic link. A problem is one sentence naming STATE_DIR, exit code 2.
 */
export function ensureStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fail(
      `STATE_DIR=${stateDir} cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); point STATE_DIR at a folder this user may write`,
    );
  }
  checkStateDir(stateDir, { narrow: true });
  try {
    accessSync(stateDir, constants.W_OK);
  } catch {
    throw fail(
      `STATE_DIR=${stateDir} is not writable by this user; point STATE_DIR at a folder this user may write`,
    );
  }
}

/**
 * The checks of `ensureStateDir` for a command that only reads the state (`status`): nothing is
 * created, and a folder others may read is refused rather than narrowed (a read-only command
 * changes no modes; `narrow` is for the commands that write). Returns false when the folder does
 * not exist (nothing to read).
 */
export function checkStateDir(stateDir: string, options: { narrow?: boolean } = {}): boolean {
  const info = lstatOrUndefined(stateDir);
  if (!info) return false;
  const problem = (why: string) => fail(`STATE_DIR=${stateDir} ${why}`);
  if (info.isSymbolicLink()) throw problem('is a symbolic link; point STATE_DIR at the folder itself');
  if (!info.isDirectory()) throw problem('is not a folder; point STATE_DIR at a folder');
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid)
    throw problem(
      `belongs to another user (uid ${info.uid}); point STATE_DIR at a folder of this user (uid ${uid})`,
    );
  if ((info.mode & 0o022) !== 0)
    throw problem(
      `is writable by group or others (mode ${(info.mode & 0o777).toString(8)}), so files in it may have been planted; point STATE_DIR at a new folder of this user's own (ident-sync creates it with mode 700)`,
    );
  if ((info.mode & 0o077) !== 0) {
    if (!options.narrow)
      throw problem(
        `may be read by group or others (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 700 ${stateDir}\` (the daemon narrows it itself when it next starts)`,
      );
    chmodSync(stateDir, 0o700);
  }
  return true;
}

/**
 * A file in STATE_DIR is this user's alone (0600): a missing one is created so (O_EXCL, no link
 * followed) before SQLite or a reader opens it — SQLite gives its -wal, -shm and -journal files the
 * mode of the database file. One of ours with looser permissions is narrowed; a symbolic link, a
 * special file or a file of another user is refused, never changed. `readOnly` (for a command that
 * only reads, like `status`) creates nothing and changes no mode: a file others may read is refused.
 */
export function ensurePrivateFile(
  path: string,
  what: string,
  options: { create?: boolean; readOnly?: boolean } = {},
): void {
  const info = lstatOrUndefined(path);
  if (!info) {
    if (options.create === false || options.readOnly) return;
    try {
      closeSync(
        openSync(
          path,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        ),
      );
    } catch (error) {
      // Another process of ours created it first: judged below like any existing file.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return ensurePrivateFile(path, what, { create: false });
  }
  if (info.isSymbolicLink())
    throw fail(`${what} ${path} is a symbolic link; remove it, and check who else can write to its folder`);
  if (!info.isFile()) throw fail(`${what} ${path} is not a regular file; remove it`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid)
    throw fail(
      `${what} ${path} belongs to another user (uid ${info.uid}); remove it, and check who else can write to its folder`,
    );
  if ((info.mode & 0o077) === 0) return;
  if (options.readOnly)
    throw fail(
      `${what} ${path} may be read by group or others (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\` (the daemon narrows it itself when it next starts)`,
    );
  chmodSync(path, 0o600);
}

/** A SQLite database in STATE_DIR and the files SQLite keeps next to it, each 0600 and ours. */
export function ensurePrivateDatabase(
  path: string,
  what: string,
  options: { create?: boolean; readOnly?: boolean } = {},
): void {
  ensurePrivateFile(path, what, options);
  for (const suffix of ['-wal', '-shm', '-journal'])
    ensurePrivateFile(`${path}${suffix}`, what, { create: false, readOnly: options.readOnly ?? false });
}

/** A token file that is a symbolic link is refused: reading or replacing it would follow the link. */
export function refuseSymlink(path: string, what: string): void {
  if (lstatOrUndefined(path)?.isSymbolicLink())
    throw fail(`${what} ${path} is a symbolic link; remove it and run \`ident-sync auth\` again`);
}
