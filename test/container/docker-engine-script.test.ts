import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/amocrm.ts';

// .ci/docker-engine.sh with a stand-in dockerd that ignores SIGTERM (a container that will not
// stop keeps a real one busy past any wait) and stops answering once told to stop, as a real one
// does while it shuts down. Run from a copy in a temporary folder: its own socket, pidfile and log.
const SCRIPT = fileURLToPath(new URL('../../.ci/docker-engine.sh', import.meta.url));
const root = process.getuid?.() === 0;

const FAKE_DOCKERD = `#!/bin/bash
while [ $# -gt 0 ]; do case "$1" in --pidfile) pidfile=$2; shift ;; --host) host=$2; shift ;; esac; shift; done
dir="$(dirname "\${host#unix://}")"
echo $$ >"$pidfile"
rm -f "$dir/stopping"
trap 'touch "$dir/stopping"' TERM
while :; do echo "dockerd $$ still writes its log"; sleep 0.1; done
`;
const FAKE_DOCKER = `#!/bin/bash
dir="$(dirname "\${DOCKER_HOST#unix://}")"
pid="$(cat "$dir/dockerd.pid" 2>/dev/null)" || exit 1
kill -0 "$pid" 2>/dev/null && [ ! -e "$dir/stopping" ] && { echo 27.5.1; exit 0; }
exit 1
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe(
  '.ci/docker-engine.sh start and stop',
  { skip: root ? false : 'starting dockerd needs root' },
  () => {
    const project = tempDir();
    const bin = join(project, 'fake-bin');
    mkdirSync(join(project, '.ci'));
    mkdirSync(bin);
    copyFileSync(SCRIPT, join(project, '.ci/docker-engine.sh'));
    for (const [name, text] of [
      ['dockerd', FAKE_DOCKERD],
      ['docker', FAKE_DOCKER],
      ['debootstrap', '#!/bin/sh\nexit 1\n'],
    ] as const) {
      writeFileSync(join(bin, name), text);
      chmodSync(join(bin, name), 0o755);
    }
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DOCKERD_STOP_SECONDS: '1' };
    const run = (command: 'start' | 'stop') =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'bash',
          [join(project, '.ci/docker-engine.sh'), command],
          { env, timeout: 60_000 },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const started: number[] = [];
    let runDir = '';
    const startEngine = async () => {
      const result = await run('start');
      assert.equal(result.code, 0, result.stderr);
      runDir = result.stdout
        .trim()
        .split('\n')
        .at(-1)!
        .replace(/^unix:\/\//, '')
        .replace(/\/docker\.sock$/, '');
      const pid = Number(readFileSync(join(runDir, 'dockerd.pid'), 'utf8'));
      started.push(pid);
      return { pid, stderr: result.stderr };
    };
    after(() => {
      for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
      if (runDir) rmSync(runDir, { recursive: true, force: true });
    });

    it('stop returns only once dockerd has exited (SIGKILL after the bound), and only then drops the pidfile', async () => {
      const { pid } = await startEngine();
      assert.ok(alive(pid));
      const stopped = await run('stop');
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(
        stopped.stderr,
        new RegExp(`dockerd \\(pid ${pid}\\) did not stop within 1 s: killing it`),
      );
      assert.equal(alive(pid), false, 'dockerd still runs after stop');
      assert.equal(existsSync(join(runDir, 'dockerd.pid')), false);
    });

    it('start ends an earlier dockerd of the folder that runs but no longer answers, before starting its own', async () => {
      const { pid: old } = await startEngine();
      process.kill(old, 'SIGTERM'); // now shutting down for ever: running, not answering
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { pid: fresh, stderr } = await startEngine();
      assert.match(
        stderr,
        new RegExp(`an earlier dockerd of this folder \\(pid ${old}\\) runs but does not answer`),
      );
      assert.equal(alive(old), false, 'two dockerds on one data root and one log');
      assert.ok(alive(fresh));
      assert.equal((await run('stop')).code, 0);
      assert.equal(alive(fresh), false);
    });
  },
);
