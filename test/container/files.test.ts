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
    assert.ok(runtime.lines.some((line) => line.startsWith('HEALTHCHECK') && line.includes('/healthz')));
    assert.ok(runtime.lines.includes('CMD ["daemon"]'));
    assert.ok(
      runtime.lines.some((line) => line.startsWith('VOLUME') && line.includes('/var/lib/ident-sync')),
    );
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
        for (const source of parts.slice(0, -1))
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
      assert.deepEqual(service.tmpfs, ['/tmp'], name);
      assert.deepEqual(service.cap_drop, ['ALL'], name);
      assert.deepEqual(service.security_opt, ['no-new-privileges:true'], name);
      assert.equal(service.mem_limit, '256m', name);
      assert.ok(service.logging?.options?.['max-size'] && service.logging.options['max-file'], name);
    }
    // The image listens on every interface inside the container, and its healthcheck follows HEALTH_PORT.
    const dockerfile = read('Dockerfile');
    assert.match(dockerfile, /HEALTH_HOST=0\.0\.0\.0/);
    assert.match(dockerfile, /HEALTHCHECK[\s\S]*process\.env\.HEALTH_PORT/);
  });
});
