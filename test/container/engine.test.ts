/**
 * The image built and run on a real Docker engine, hardened as docker-compose.yml declares its
 * `sync` service (read-only, tmpfs /tmp, no capabilities, no-new-privileges, 256 MB, pids limit;
 * the image's user node, uid 1000), against the amoCRM emulator this test starts on loopback.
 * The containers use host networking to reach it: .ci/run's private engine has no bridge.
 *
 * CONTAINER_DOCKER_HOST: the engine (.ci/run's private dockerd). Not DOCKER_HOST, which would send
 *   the SQL Server tests to an engine that cannot pull their image. Unset: docker's own default.
 * CONTAINER_NODE_IMAGE: the base (build argument NODE_IMAGE), e.g. the one .ci/base-image.sh makes.
 * CONTAINER_BUILD_CA (else NODE_EXTRA_CA_CERTS): a CA bundle npm in the build trusts, copied to the
 *   git-ignored npm-ca.pem for the build and removed after it.
 * Without an engine the tests are skipped with the reason; REQUIRE_DOCKER_ENGINE=1 makes that a
 * failure (REQUIRE_CONTAINER_RUNTIME=1 stays the SQL Server tests' switch).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { freePort } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGE = 'ident-amocrm-sync:container-test';
const TOKEN = 'container-test-token';
const DB_PASSWORD = 'container-test-db-password';
const engineEnv = {
  ...process.env,
  ...(process.env.CONTAINER_DOCKER_HOST ? { DOCKER_HOST: process.env.CONTAINER_DOCKER_HOST } : {}),
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function docker(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      args,
      { env: engineEnv, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr: stderr || (error && code === -1 ? error.message : '') });
      },
    );
  });
}
async function dockerOk(args: string[], timeoutMs?: number): Promise<string> {
  const run = await docker(args, timeoutMs);
  assert.equal(run.code, 0, `docker ${args.slice(0, 2).join(' ')} failed: ${run.stderr.trim().slice(-2000)}`);
  return run.stdout;
}

async function engineMissing(): Promise<string | undefined> {
  const run = await docker(['version', '--format', '{{.Server.Version}}'], 20_000);
  if (run.code === 0 && run.stdout.trim() !== '') return undefined;
  const where = process.env.CONTAINER_DOCKER_HOST ?? process.env.DOCKER_HOST ?? "docker's default socket";
  const detail = (run.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200);
  const reason = `no Docker engine answered at ${where} (${detail || 'no docker command'})`;
  if (process.env.REQUIRE_DOCKER_ENGINE === '1') throw new Error(`REQUIRE_DOCKER_ENGINE=1, but ${reason}`);
  return `${reason}; .ci/run starts one where it can, and REQUIRE_DOCKER_ENGINE=1 makes these tests mandatory`;
}

const skipReason = await engineMissing();
if (skipReason) process.stdout.write(`# container tests skipped: ${skipReason}\n`);

interface ComposeService {
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  mem_limit?: string;
  pids_limit?: number;
  stop_grace_period?: string;
}
const sync = (
  parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  }
).services.sync!;
/** `docker run` options for what compose declares for the `sync` service. */
const hardening = [
  ...(sync.read_only ? ['--read-only'] : []),
  ...(sync.tmpfs ?? []).flatMap((mount) => ['--tmpfs', mount]),
  ...(sync.cap_drop ?? []).flatMap((cap) => ['--cap-drop', cap]),
  ...(sync.security_opt ?? []).flatMap((option) => ['--security-opt', option]),
  ...(sync.mem_limit ? ['--memory', sync.mem_limit] : []),
  ...(sync.pids_limit ? ['--pids-limit', String(sync.pids_limit)] : []),
];
const graceSeconds = Number(/^(\d+)s$/.exec(sync.stop_grace_period ?? '')?.[1] ?? 10);
// The image's check and its command as they are; only checked every 2 s instead of 30 s.
const quickHealth = ['--health-interval', '2s', '--health-start-period', '1s', '--health-retries', '2'];

interface HealthState {
  Status: string;
  Log: { ExitCode: number; Output: string }[] | null;
}
async function health(id: string): Promise<HealthState> {
  return JSON.parse(await dockerOk(['inspect', '--format', '{{json .State.Health}}', id])) as HealthState;
}
/** Waits for a health status; a bounded wait, so a broken image fails instead of hanging. */
async function healthBecomes(id: string, status: string): Promise<HealthState> {
  let state = await health(id);
  for (let waited = 0; state.Status !== status && waited < 180; waited++) {
    const running = (await dockerOk(['inspect', '--format', '{{.State.Running}}', id])).trim();
    assert.equal(
      running,
      'true',
      `the container stopped: ${(await docker(['logs', id])).stdout.slice(-2000)}`,
    );
    await sleep(1000);
    state = await health(id);
  }
  assert.equal(state.Status, status, JSON.stringify(state.Log?.at(-1)));
  return state;
}
async function stopCleanly(id: string): Promise<void> {
  await dockerOk(['stop', '--time', String(graceSeconds), id], (graceSeconds + 30) * 1000);
  // 0, not 137: the process ended on SIGTERM by itself before the grace period ran out.
  const [exitCode, oomKilled] = (
    await dockerOk(['inspect', '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}', id])
  )
    .trim()
    .split(' ');
  assert.equal(exitCode, '0', 'docker stop ends the container with exit code 0');
  assert.equal(oomKilled, 'false');
}
const mounts = async (id: string) =>
  JSON.parse(await dockerOk(['inspect', '--format', '{{json .Mounts}}', id])) as {
    Type: string;
    Name?: string;
  }[];

describe('the image on a Docker engine', { skip: skipReason, timeout: 1_200_000 }, () => {
  const containers: string[] = [];
  const volume = `ident-sync-container-test-${process.pid}`;
  let emulator: AmoCrmEmulator;
  let daemonEnv: string[];

  before(async () => {
    const caSource = process.env.CONTAINER_BUILD_CA ?? process.env.NODE_EXTRA_CA_CERTS;
    const caCopy = join(ROOT, 'npm-ca.pem');
    // The classic builder cannot COPY a link that points out of the build context.
    assert.ok(
      !lstatSync(caCopy, { throwIfNoEntry: false })?.isSymbolicLink(),
      'npm-ca.pem is a symbolic link, which the classic builder cannot copy; copy the file instead (cp --dereference)',
    );
    const copied = !!caSource && existsSync(caSource) && !existsSync(caCopy);
    // The bundle itself, not a link to it (the host's is usually one, into /etc/ssl/certs).
    if (copied) copyFileSync(realpathSync(caSource), caCopy);
    const started = Date.now();
    try {
      await dockerOk(
        [
          'build',
          '--network',
          'host',
          ...(process.env.CONTAINER_NODE_IMAGE
            ? ['--build-arg', `NODE_IMAGE=${process.env.CONTAINER_NODE_IMAGE}`]
            : []),
          '--tag',
          IMAGE,
          ROOT,
        ],
        900_000,
      );
    } finally {
      if (copied) rmSync(caCopy, { force: true });
    }
    const bytes = Number(await dockerOk(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    process.stdout.write(
      `# image ${IMAGE}: ${(bytes / 1e6).toFixed(1)} MB, built in ${((Date.now() - started) / 1000).toFixed(0)} s` +
        ` on ${process.env.CONTAINER_NODE_IMAGE ?? 'node:24-bookworm-slim'}\n`,
    );
    emulator = await new AmoCrmEmulator({ port: 0, longLivedTokens: [TOKEN] }).start();
    await dockerOk(['volume', 'create', volume]);
    daemonEnv = [
      `AMOCRM_BASE_URL=${emulator.baseUrl}`,
      `AMOCRM_LONG_LIVED_TOKEN=${TOKEN}`,
      'DB_HOST=127.0.0.1',
      `DB_PORT=${await freePort()}`,
      'DB_USER=reader',
      `DB_PASSWORD=${DB_PASSWORD}`,
    ].flatMap((pair) => ['--env', pair]);
  });

  // Each test's containers go with it: a daemon left running after a failure would hold the state
  // volume's lock, and the next test would fail for that instead of for its own reason.
  afterEach(async () => {
    for (const id of containers.splice(0)) await docker(['rm', '--force', '--volumes', id]);
  });
  after(async () => {
    await docker(['volume', 'rm', volume]);
    await emulator?.stop();
  });

  async function start(args: string[]): Promise<string> {
    const id = (await dockerOk(['run', '--detach', ...hardening, ...args])).trim();
    containers.push(id);
    return id;
  }

  it('creates the amoCRM fields in the emulator, hardened as compose runs it', async () => {
    const id = await start([
      '--network',
      'host',
      ...daemonEnv,
      '--volume',
      `${volume}:/var/lib/ident-sync`,
      IMAGE,
      'fields',
      '--create',
      '--pipelines',
    ]);
    assert.equal(
      (await dockerOk(['wait', id], 300_000)).trim(),
      '0',
      (await docker(['logs', id])).stdout.slice(-2000),
    );
    assert.match((await docker(['logs', id])).stdout, /both deal pipelines are ready/);
  });

  it('the daemon with IDENT unreachable: unhealthy with the reason, JSON logs, loopback only, stops with 0', async () => {
    const healthPort = await freePort();
    const id = await start([
      '--network',
      'host',
      ...daemonEnv,
      '--env',
      `HEALTH_PORT=${healthPort}`,
      '--volume',
      `${volume}:/var/lib/ident-sync`,
      ...quickHealth,
      IMAGE,
    ]);
    const state = await healthBecomes(id, 'unhealthy');
    assert.match(
      state.Log!.at(-1)!.Output,
      /^unhealthy \(503\): start-up failed, retrying in \d+ s: cannot connect to SQL Server at 127\.0\.0\.1:\d+; check DB_HOST and DB_PORT/,
    );
    assert.equal((await dockerOk(['exec', id, 'id', '-u'])).trim(), '1000');
    assert.deepEqual(
      (await mounts(id)).map((mount) => mount.Name),
      [volume],
      'the state volume, nothing anonymous',
    );
    // Host networking: /healthz and /metrics stay on loopback unless HEALTH_HOST says otherwise.
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
    if (outside) {
      const socket = connect(healthPort, outside);
      const reached = await new Promise<boolean>((resolve) => {
        socket.on('connect', () => resolve(true));
        socket.on('error', () => resolve(false));
        socket.setTimeout(5000, () => resolve(false));
      });
      socket.destroy();
      assert.equal(reached, false, `/healthz answers on ${outside}:${healthPort}`);
    }

    await stopCleanly(id);
    const lines = (await dockerOk(['logs', id])).split('\n').filter((line) => line !== '');
    assert.ok(lines.length >= 3);
    for (const line of lines) {
      const entry = JSON.parse(line) as { level?: string; time?: string; msg?: string };
      assert.ok(entry.level && entry.time && entry.msg, line);
    }
    assert.equal((JSON.parse(lines.at(-1)!) as { msg: string }).msg, 'stopped');
    const all = lines.join('\n') + (await docker(['logs', id])).stderr;
    assert.ok(!all.includes(DB_PASSWORD) && !all.includes(TOKEN), 'no secret in the logs');
  });

  it('the daemon without a state mount refuses to start: exit 2, one sentence naming the -v', async () => {
    const id = await start(['--network', 'host', ...daemonEnv, '--env', 'HEALTH_PORT=0', IMAGE]);
    assert.equal((await dockerOk(['wait', id], 120_000)).trim(), '2');
    const logs = await docker(['logs', id]);
    assert.equal(
      logs.stderr,
      'error: STATE_DIR=/var/lib/ident-sync is not a mounted volume, so the amoCRM tokens and the sync state would be lost with the container; run it with `-v ident-sync-state:/var/lib/ident-sync` (docker compose mounts one), or set IDENT_SYNC_REQUIRE_STATE_MOUNT=0 to keep them in the container on purpose\n',
    );
  });

  it('the image has no set-uid or set-gid program', async () => {
    const found = await dockerOk([
      'run',
      '--rm',
      '--network',
      'none',
      '--user',
      'root',
      '--entrypoint',
      'find',
      IMAGE,
      '/',
      '-xdev',
      '-perm',
      '/6000',
      '-type',
      'f',
    ]);
    assert.equal(found, '');
  });

  it('HEALTH_PORT=0: the check passes and says that nothing is checked', async () => {
    const id = await start([
      '--network',
      'host',
      ...daemonEnv,
      '--env',
      'HEALTH_PORT=0',
      '--volume',
      `${volume}:/var/lib/ident-sync`,
      ...quickHealth,
      IMAGE,
    ]);
    const state = await healthBecomes(id, 'healthy');
    assert.match(
      state.Log!.at(-1)!.Output,
      /^HEALTH_PORT=0 switches \/healthz off, so nothing checks the daemon/,
    );
    await stopCleanly(id);
  });

  it('the demo, with no network and no state mount: healthy, no anonymous volume, stops with 0', async () => {
    const id = await start([
      '--network',
      'none',
      ...quickHealth,
      IMAGE,
      'demo',
      '--patients',
      '200',
      '--minutes',
      '10',
      '--tick',
      '5',
    ]);
    const state = await healthBecomes(id, 'healthy');
    assert.match(state.Log!.at(-1)!.Output, /^healthy: /);
    assert.deepEqual(await mounts(id), []);
    await stopCleanly(id);
  });
});
