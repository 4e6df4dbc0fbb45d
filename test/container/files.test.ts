import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

// No Docker engine here: these check what can be checked without one — that the image is the
// daemon, runs what the benchmark measured, and that every file it copies exists.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Stage {
  name: string;
  lines: string[];
}

function stages(dockerfile: string): Stage[] {
  const found: Stage[] = [];
  // Continuation lines joined, comments dropped: one instruction per line.
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(text);
    if (from) found.push({ name: from[1]!, lines: [] });
    else found.at(-1)?.lines.push(text);
  }
  return found;
}

describe('Dockerfile and docker-compose.yml', () => {
  const all = stages(read('Dockerfile'));
  const runtime = all.find((stage) => stage.name === 'runtime')!;

  it('a plain `docker build .` makes the daemon image: runtime is the last stage', () => {
    assert.equal(all.at(-1)?.name, 'runtime');
    assert.ok(runtime.lines.includes('USER node'), 'the daemon runs as the unprivileged node user');
    const healthcheck = runtime.lines.find((line) => line.startsWith('HEALTHCHECK'));
    assert.match(healthcheck ?? '', /CMD \["node", "dist\/src\/daemon\/healthcheck\.js"\]$/);
    assert.ok(existsSync(join(ROOT, 'src/daemon/healthcheck.ts')), 'the healthcheck is compiled from src/');
    assert.ok(runtime.lines.includes('CMD ["daemon"]'));
  });

  it('builds offline and leaves nothing behind: no syntax pull, no anonymous volume, no idle cache clean', () => {
    const dockerfile = read('Dockerfile');
    // `# syntax=` makes BuildKit fetch a frontend image from Docker Hub, even offline.
    assert.doesNotMatch(dockerfile, /^#\s*syntax\s*=/im);
    // A VOLUME line gives every container run without a state mount an anonymous volume.
    assert.ok(!all.some((stage) => stage.lines.some((line) => line.startsWith('VOLUME'))));
    // The deps stage is thrown away but for node_modules: cleaning its npm cache only warns.
    assert.ok(!all.some((stage) => stage.lines.some((line) => line.includes('npm cache clean'))));
    // The base image is a build argument, so a registry-less machine can pass a local one.
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    assert.ok(
      all.every((stage) => stage.name !== '' && dockerfile.includes(`FROM \${NODE_IMAGE} AS ${stage.name}`)),
    );
  });

  it('npm in the build trusts an optional CA bundle that never reaches the image', () => {
    for (const name of ['build', 'deps']) {
      const stage = all.find((found) => found.name === name)!;
      assert.ok(
        stage.lines.some((line) => line.startsWith('COPY') && line.includes('npm-ca.pe[m]')),
        name,
      );
      const install = stage.lines.find((line) => line.includes('npm ci'))!;
      assert.match(install, /NODE_EXTRA_CA_CERTS="\$PWD\/npm-ca\.pem"/, name);
    }
    assert.ok(!runtime.lines.some((line) => line.includes('npm-ca')), 'the runtime stage never copies it');
    assert.ok(read('.gitignore').split('\n').includes('npm-ca.pem'), 'never committed');
  });

  it('the image runs the compiled JavaScript with the V8 settings the benchmark measures', () => {
    const copies = runtime.lines.filter((line) => line.startsWith('COPY'));
    assert.ok(copies.some((line) => line.includes('/app/dist/src')));
    assert.ok(!copies.some((line) => /\bsrc \.\/src\b/.test(line)), 'no TypeScript sources in the image');
    const env = runtime.lines.find((line) => line.startsWith('ENV'))!;
    const nodeOptions = /NODE_OPTIONS="([^"]+)"/.exec(env)?.[1];
    assert.ok(nodeOptions, 'NODE_OPTIONS is set');
    const bench = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.bench!;
    for (const flag of nodeOptions.split(/\s+/))
      assert.ok(bench.includes(flag), `npm run bench uses ${flag}`);
    const arenas = /MALLOC_ARENA_MAX=(\d+)/.exec(env)?.[1];
    assert.ok(arenas && bench.includes(`MALLOC_ARENA_MAX=${arenas}`));
  });

  it('every file the Dockerfile copies from the repository exists', () => {
    for (const stage of all) {
      for (const line of stage.lines) {
        if (!line.startsWith('COPY') || line.includes('--from=')) continue;
        const parts = line.split(/\s+/).slice(1);
        // A pattern (npm-ca.pe[m]) is an optional file: it may match nothing.
        for (const source of parts.slice(0, -1).filter((part) => !/[[*?]/.test(part)))
          assert.ok(existsSync(join(ROOT, source)), `${stage.name}: ${source}`);
      }
    }
    const ignored = read('.dockerignore').split('\n');
    for (const needed of ['src', 'sql', 'mapping', 'bin', 'test'])
      assert.ok(!ignored.includes(needed), needed);
  });

  it('every compose service that runs the daemon image can build it, from the runtime stage', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, { image?: string; build?: string | { target?: string }; command?: string[] }>;
    };
    const daemonServices = Object.entries(compose.services).filter(([, service]) =>
      service.image?.startsWith('ident-amocrm-sync'),
    );
    assert.ok(daemonServices.length >= 3);
    for (const [name, service] of daemonServices) {
      // An image-only service would be pulled from a registry where it does not exist.
      assert.equal(typeof service.build, 'object', `${name}: can build the image, and names its target`);
      assert.equal((service.build as { target?: string }).target, 'runtime', name);
    }
    assert.deepEqual(compose.services.auth?.command, ['auth', '--host', '0.0.0.0']);
  });

  it('compose is fit for production: ports on loopback, read-only, no capabilities, memory capped, logs rotated', () => {
    type Service = {
      image?: string;
      ports?: string[];
      read_only?: boolean;
      tmpfs?: string[];
      cap_drop?: string[];
      security_opt?: string[];
      mem_limit?: string;
      pids_limit?: number;
      logging?: { options?: Record<string, string> };
    };
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, Service>;
    };
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? [])
        assert.match(port, /^'?127\.0\.0\.1:/, `${name} publishes ${port} beyond this machine`);
      if (!service.image?.startsWith('ident-amocrm-sync')) continue;
      assert.equal(service.read_only, true, name);
      assert.equal(service.tmpfs?.length, 1, name);
      const [path, options = ''] = service.tmpfs[0]!.split(':');
      assert.equal(path, '/tmp', name);
      assert.match(options, /(^|,)size=\d+[km]($|,)/, `${name}: /tmp has a size`);
      for (const flag of ['noexec', 'nosuid', 'nodev'])
        assert.ok(options.split(',').includes(flag), `${name}: ${flag}`);
      assert.ok(Number(service.pids_limit) > 0, `${name}: pids_limit`);
      assert.deepEqual(service.cap_drop, ['ALL'], name);
      assert.deepEqual(service.security_opt, ['no-new-privileges:true'], name);
      assert.equal(service.mem_limit, '256m', name);
      assert.ok(service.logging?.options?.['max-size'] && service.logging.options['max-file'], name);
    }
  });

  it('HEALTH_HOST: compose sets 0.0.0.0 where it publishes the port, .env cannot undo it, the image keeps loopback', () => {
    type Service = {
      image?: string;
      entrypoint?: string[];
      ports?: string[];
      environment?: Record<string, string>;
    };
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, Service>;
    };
    const daemons = Object.entries(compose.services).filter(
      ([, service]) => service.image?.startsWith('ident-amocrm-sync') && !service.entrypoint,
    );
    for (const [name, service] of daemons) {
      if (!service.ports?.some((port) => /9464|HEALTH_PORT/.test(port))) continue;
      // `environment:` wins over `env_file:`; a HEALTH_HOST=127.0.0.1 in .env made the published port reset.
      assert.equal(service.environment?.HEALTH_HOST, '0.0.0.0', name);
    }
    assert.ok(compose.services.sync?.environment?.HEALTH_HOST, 'the production service');
    // With host networking, a 0.0.0.0 baked into the image would publish /metrics on every interface.
    const runtime = stages(read('Dockerfile')).at(-1)!;
    assert.ok(!runtime.lines.some((line) => line.startsWith('ENV') && line.includes('HEALTH_HOST')));
    assert.doesNotMatch(read('.env.example'), /^HEALTH_HOST=/m);
  });

  it('a service that runs something other than the daemon has a healthcheck of its own', () => {
    type Service = { image?: string; entrypoint?: string[]; healthcheck?: { test?: string[] } };
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, Service>;
    };
    const others = Object.entries(compose.services).filter(
      ([, service]) => service.image?.startsWith('ident-amocrm-sync') && service.entrypoint,
    );
    assert.ok(others.some(([name]) => name === 'demo-amocrm'));
    for (const [name, service] of others) {
      const test = service.healthcheck?.test?.join(' ') ?? '';
      assert.ok(test !== '' && !test.includes('healthcheck.js'), `${name} would inherit the daemon's check`);
    }
    // The image's own command for something else (auth waits for a browser): no daemon to check.
    type Command = Service & { command?: string[]; healthcheck?: { disable?: boolean } };
    for (const [name, service] of Object.entries(compose.services) as [string, Command][]) {
      if (!service.image?.startsWith('ident-amocrm-sync') || service.entrypoint) continue;
      if (!service.command || service.command[0] === 'daemon') continue;
      assert.equal(service.healthcheck?.disable, true, `${name} runs ${service.command[0]}, not the daemon`);
    }
    const emulatorCheck = compose.services['demo-amocrm']!.healthcheck!.test!.join(' ');
    assert.match(emulatorCheck, /127\.0\.0\.1:8090/);
  });

  it('a .env copied from .env.example, passed as `docker run --env-file`, overrides nothing the image or compose sets', () => {
    // `docker run --env-file` takes every KEY=value line that is not a comment, empty values too.
    const example = new Map<string, string>();
    for (const line of read('.env.example').split('\n')) {
      const pair = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (pair) example.set(pair[1]!, pair[2]!.trim());
    }
    const runtime = stages(read('Dockerfile')).at(-1)!;
    const imageEnv = new Map<string, string>();
    for (const line of runtime.lines.filter((found) => found.startsWith('ENV ')))
      for (const [, key, value] of line.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g))
        imageEnv.set(key!, value!.replace(/^"|"$/g, ''));
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const set = new Map([...imageEnv, ...Object.entries(compose.services.sync?.environment ?? {})]);
    for (const key of ['STATE_DIR', 'LOG_FORMAT', 'HEALTH_HOST'])
      assert.ok(set.has(key), `the image or compose sets ${key}`);
    // Allowed: the same value as the image's (compose also reads it to publish the port).
    const allowed = new Set(['HEALTH_PORT']);
    for (const [key, value] of example) {
      if (!set.has(key)) continue;
      assert.ok(
        allowed.has(key),
        `.env.example sets ${key}=${value}, which overrides the image's ${key}=${set.get(key)}; comment it out`,
      );
      assert.equal(value, set.get(key), `${key} in .env.example differs from the image's`);
    }
    // Commented out, but still documented with its default.
    for (const key of ['STATE_DIR', 'LOG_FORMAT', 'HEALTH_HOST'])
      assert.match(read('.env.example'), new RegExp(`^# ${key}=`, 'm'), key);
  });

  it('the image refuses a daemon without a state mount, and every compose daemon has one', () => {
    const runtime = stages(read('Dockerfile')).at(-1)!;
    const env = runtime.lines.find((line) => line.startsWith('ENV'))!;
    assert.match(env, /\bIDENT_SYNC_REQUIRE_STATE_MOUNT=1\b/);
    const stateDir = /\bSTATE_DIR=(\S+)/.exec(env)![1]!;
    type Service = {
      image?: string;
      entrypoint?: string[];
      command?: string[];
      environment?: Record<string, string>;
      volumes?: string[];
    };
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, Service>;
    };
    const daemons = Object.entries(compose.services).filter(
      ([, service]) =>
        service.image?.startsWith('ident-amocrm-sync') &&
        !service.entrypoint &&
        (!service.command || service.command[0] === 'daemon'),
    );
    assert.ok(daemons.some(([name]) => name === 'sync') && daemons.some(([name]) => name === 'demo-sync'));
    for (const [name, service] of daemons) {
      const where = service.environment?.STATE_DIR ?? stateDir;
      assert.ok(
        service.volumes?.some((volume) => volume.split(':')[1] === where),
        `${name} runs the daemon without a volume at ${where}: it would refuse to start`,
      );
    }
  });

  it('the image keeps no set-uid or set-gid program of its base', () => {
    const runtime = stages(read('Dockerfile')).at(-1)!;
    const strip = runtime.lines.findIndex((line) =>
      line.includes('find / -xdev -perm /6000 -type f -exec chmod a-s {} +'),
    );
    assert.ok(strip >= 0);
    // After every COPY and RUN of the stage, so nothing copied in brings one back.
    const lastFill = runtime.lines.findLastIndex((line) => /^(COPY|RUN|ADD)\b/.test(line));
    assert.equal(strip, lastFill);
  });
});
