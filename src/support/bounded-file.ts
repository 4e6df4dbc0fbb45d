import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Why a file a person named cannot be read as a small text file: one phrase, to follow its path. */
export class BoundedFileError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'BoundedFileError';
    this.code = code;
  }
}

/**
 * A regular file of at most `maxBytes`, read whole. Opened non-blocking and judged by the open
 * descriptor, so a FIFO neither hangs the process (a blocked read ignores SIGTERM) nor is read,
 * and /dev/zero or a folder is refused instead of read until memory runs out. A file that grows
 * while it is read stops at `maxBytes` + 1 and is refused.
 */
export function readBoundedFile(path: string, maxBytes: number, sizeHint: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BoundedFileError(code === 'ENOENT' ? 'file not found' : (error as Error).message, code);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile())
      throw new BoundedFileError(
        `is not a regular file (${info.isDirectory() ? 'a folder' : info.isFIFO() ? 'a named pipe' : 'a device or socket'})`,
      );
    if (info.size > maxBytes) throw new BoundedFileError(`is larger than ${sizeHint}`);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > maxBytes) throw new BoundedFileError(`is larger than ${sizeHint}`);
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}
