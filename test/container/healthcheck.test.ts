import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { type Health, startHealthServer } from '../../src/daemon/health-server.ts';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { environmentSchema } from '../../src/config/schema.ts';
import { parseHealthPort } from '../../src/config/health-port.ts';
import { freePort, runCli } from '../helpers/cli.ts';

// The image's HEALTHCHECK, run as Docker runs it: a process whose exit code is the verdict and
// whose output `docker inspect` shows as the reason.
const SCRIPT = fileURLToPath(new URL('../../src/daemon/healthcheck.ts', import.meta.url));
const check = (env: Record<string, string>) => runCli([], env, { cli: SCRIPT, timeoutMs: 20_000 });

describe('the container healthcheck', () => {
  let health: Health = { healthy: true, reason: 'last incremental sync ok', since: new Date().toISOString() };
  const servers: { close(): Promise<void> }[] = [];
  after(() => Promise.all(servers.map((server) => server.close())));

  it('passes on a healthy daemon and prints its reason', async () => {
    const server = await startHealthServer(0, () => health, new DaemonMetrics(), '127.0.0.1');
    servers.push(server);
    const run = await check({ HEALTH_PORT: String(server.port), HEALTH_HOST: '0.0.0.0' });
    assert.equal(run.code, 0);
    assert.equal(run.stdout, 'healthy: last incremental sync ok\n');

    health = {
      healthy: false,
      reason: 'start-up failed, retrying in 5 s: cannot connect to SQL Server at db:1433',
      since: new Date().toISOString(),
    };
    const sick = await check({ HEALTH_PORT: String(server.port) });
    assert.equal(sick.code, 1);
    assert.equal(
      sick.stdout,
      'unhealthy (503): start-up failed, retrying in 5 s: cannot connect to SQL Server at db:1433\n',
    );
  });

  it('says why when nothing answers', async () => {
    const port = await freePort();
    const run = await check({ HEALTH_PORT: String(port), HEALTH_HOST: '127.0.0.1' });
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      new RegExp(`^no answer from http://127\\.0\\.0\\.1:${port}/healthz \\(ECONNREFUSED\\)`),
    );
  });

  it('HEALTH_PORT=0 (the health server off) passes and says nothing is checked', async () => {
    const run = await check({ HEALTH_PORT: '0' });
    assert.equal(run.code, 0);
    assert.match(
      run.stdout,
      /^HEALTH_PORT=0 switches \/healthz off, so nothing checks the daemon; set HEALTH_PORT/,
    );
  });

  it('a HEALTH_PORT that is no port fails with a sentence', async () => {
    const run = await check({ HEALTH_PORT: 'abc' });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, 'HEALTH_PORT=abc is not a port number: set HEALTH_PORT to 0…65535\n');
  });

  it('a daemon that sends its headers and then stalls: one reason line, no stack trace', async () => {
    const server = createHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"status":"ok",');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const run = await check({ HEALTH_PORT: String(port) });
      assert.equal(run.code, 1);
      assert.equal(run.stderr, '');
      assert.equal(
        run.stdout,
        `no answer from http://127.0.0.1:${port}/healthz: listening but not answering within 4 s (the daemon may be hung)\n`,
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a daemon that accepts the connection but never answers is called hung, not "not running"', async () => {
    const sockets: Socket[] = [];
    const server = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const run = await check({ HEALTH_PORT: String(port) });
      assert.equal(run.code, 1);
      assert.equal(run.stderr, '');
      assert.match(run.stdout, /: listening but not answering within 4 s \(the daemon may be hung\)\n$/);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('HEALTH_PORT=-0 is refused alike by the check and by the daemon', async () => {
    const run = await check({ HEALTH_PORT: '-0' });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, 'HEALTH_PORT=-0 is not a port number: set HEALTH_PORT to 0…65535\n');
    const parsed = environmentSchema.shape.HEALTH_PORT.safeParse('-0');
    assert.equal(parsed.success, false, 'the daemon refuses it too, rather than switching /healthz off');
    assert.equal(environmentSchema.shape.HEALTH_PORT.safeParse(' 0 ').data, 0);
    assert.equal(environmentSchema.shape.HEALTH_PORT.safeParse('').data, 9464);
    assert.equal(environmentSchema.shape.HEALTH_PORT.safeParse(undefined).data, 9464);
    for (const text of ['-0', '+1', '65536', '1e3', '0x10', '９４６４'])
      assert.equal(parseHealthPort(text), undefined, text);
  });
});
