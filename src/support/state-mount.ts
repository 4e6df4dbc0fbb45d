import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ActionableError } from '../errors.ts';

/**
 * In the image, STATE_DIR must be a mounted volume: without one, the tokens and the sync state go
 * into the container's own layer and are lost with `docker rm` or an upgrade. The image sets
 * IDENT_SYNC_REQUIRE_STATE_MOUNT=1; on a host (`npx ident-sync`) it is unset and nothing is checked.
 * IDENT_SYNC_REQUIRE_STATE_MOUNT=0 is the way to keep state in the container on purpose.
 */
export function requireStateMount(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
  mountinfo: () => string | undefined = readMountinfo,
): void {
  if ((env.IDENT_SYNC_REQUIRE_STATE_MOUNT ?? '').trim() !== '1') return;
  if (isMountPoint(stateDir, mountinfo())) return;
  throw new ActionableError(
    `STATE_DIR=${stateDir} is not a mounted volume, so the amoCRM tokens and the sync state would be lost with the container; run it with \`-v ident-sync-state:${stateDir}\` (docker compose mounts one), or set IDENT_SYNC_REQUIRE_STATE_MOUNT=0 to keep them in the container on purpose`,
    { exitCode: 2 },
  );
}

/**
 * Whether `dir` is where a file system is mounted: listed in /proc/self/mountinfo (which also sees
 * a bind mount from the same file system), or, where that file cannot be read, on another device
 * than its parent folder.
 */
export function isMountPoint(dir: string, mountinfo: string | undefined): boolean {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (mountinfo !== undefined) return mountPoints(mountinfo).has(real);
  return real === '/' || statSync(real).dev !== statSync(dirname(real)).dev;
}

/** The mount points of a /proc/self/mountinfo text (the fifth field, with its octal escapes undone). */
export function mountPoints(mountinfo: string): Set<string> {
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field)
      points.add(
        field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
      );
  }
  return points;
}

function readMountinfo(): string | undefined {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
}
