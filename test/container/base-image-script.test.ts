import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/amocrm.ts';

// .ci/base-image.sh caches the base's root file system as a tar. A tar cut short must not block
// every later run: the failed import deletes it and says so. A stand-in `docker` refuses the import
// as a real engine refuses a truncated archive.
const SCRIPT = fileURLToPath(new URL('../../.ci/base-image.sh', import.meta.url));

it('a cached base tar that docker cannot import is deleted, with one line saying the next run rebuilds it', async () => {
  const project = tempDir();
  mkdirSync(join(project, '.ci'));
  mkdirSync(join(project, 'fake-bin'));
  mkdirSync(join(project, '.toolchain/docker'), { recursive: true });
  copyFileSync(SCRIPT, join(project, '.ci/base-image.sh'));
  const docker = join(project, 'fake-bin/docker');
  writeFileSync(
    docker,
    '#!/bin/sh\n[ "$1" = import ] && echo "Error response from daemon: archive/tar: invalid tar header" >&2\nexit 1\n',
  );
  chmodSync(docker, 0o755);
  const tarball = join(project, '.toolchain/docker/base-node-24.21.0.tar');
  writeFileSync(tarball, 'the first 100 bytes of a tar');
  const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      'bash',
      [join(project, '.ci/base-image.sh')],
      {
        env: {
          ...process.env,
          PATH: `${join(project, 'fake-bin')}:${process.env.PATH ?? ''}`,
          NODE_PIN: '24.21.0',
        },
        timeout: 30_000,
      },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
  assert.equal(run.code, 1);
  assert.equal(existsSync(tarball), false, 'the truncated tar is still cached');
  assert.equal(
    run.stderr,
    `base image: docker import of .toolchain/docker/base-node-24.21.0.tar failed (Error response from daemon: archive/tar: invalid tar header); deleted the cached tar, so the next run builds it again\n`,
  );
});
