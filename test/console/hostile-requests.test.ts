// The console against hostile requests and a hanging IDENT (issue 21, found by a2's attacks).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { perform } from '../../src/console/actions.ts';
import { hostAllowed } from '../../src/console/auth.ts';
import { readQueue } from '../../src/console/queue.ts';
import { startHealthServer } from '../../src/daemon/health-server.ts';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { consoleDaemon } from './fixture.ts';

/** One raw HTTP request; resolves with the status line, or '' when the connection closed unanswered. */
function raw(port: number, target: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    );
    let got = '';
    socket.on('data', (chunk) => (got += chunk));
    socket.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
    socket.on('error', () => resolve(''));
  });
}

/** A request with any Host header (fetch replaces it). */
function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cookieOf = (headers: IncomingHttpHeaders) => String(headers['set-cookie']?.[0] ?? '').split(';')[0]!;
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const noticeOf = (html: string) => /<p class="notice"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];

/** A browser's visit: the page with its cookie and CSRF token, then its own form POSTs. */
async function visit(url: string) {
  const response = await fetch(url);
  const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
  const html = await response.text();
  const csrf = csrfOf(html);
  const origin = new URL(url).origin;
  return {
    status: response.status,
    html,
    cookie,
    post: (fields: Record<string, string>) =>
      fetch(`${origin}/console/action`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, ...fields }).toString(),
      }),
    page: async () => (await fetch(url, { headers: { cookie } })).text(),
  };
}

describe('the console against hostile requests', () => {
  it('answers a request path that is not a URL with 400 and keeps serving (the daemon does not exit)', async () => {
    const stack = await consoleDaemon();
    const port = stack.daemon.healthPort!;
    try {
      for (const target of ['//[x', '//[x/console', '/console/..%2f//[x', 'http://[x/healthz'])
        assert.match(await raw(port, target), /^HTTP\/1\.1 (400|404)/, target);
      assert.match(await raw(port, '//[x'), /^HTTP\/1\.1 400/);
      assert.match(await raw(port, '/healthz'), /^HTTP\/1\.1 200/);
      assert.match(await raw(port, '/metrics'), /^HTTP\/1\.1 200/);
      assert.equal((await fetch(stack.url)).status, 200);
    } finally {
      await stack.stop();
    }
  });

  it('a route that throws is answered 500 by the health server, logged without its message, and the server keeps serving', async () => {
    const lines: string[] = [];
    const logger = silentLogger();
    logger.error = ((...args: unknown[]) => void lines.push(JSON.stringify(args))) as typeof logger.error;
    const server = await startHealthServer(
      0,
      () => ({ healthy: true, reason: 'ok', since: new Date().toISOString() }),
      new DaemonMetrics(),
      '127.0.0.1',
      (incoming) => {
        if (incoming.url === '/boom') throw new Error('Иванова Мария +79160000501');
        return false;
      },
      logger,
    );
    try {
      assert.match(await raw(server.port, '/boom'), /^HTTP\/1\.1 500/);
      assert.match(await raw(server.port, '/healthz'), /^HTTP\/1\.1 200/);
      assert.equal(lines.length, 1);
      assert.ok(!lines[0]!.includes('Иванова') && !lines[0]!.includes('9160000501'), lines[0]);
    } finally {
      await server.close();
    }
  });

  it('on loopback, takes as Host only localhost or a literal loopback address (a DNS-rebinding name is refused)', async () => {
    const asked = (host: string) => hostAllowed({ headers: { host } } as never, '127.0.0.1');
    for (const host of [
      'localhost',
      'localhost:9464',
      '127.0.0.1',
      '127.0.0.1:9464',
      '127.1.2.3:80',
      '[::1]:9464',
      '[::1]',
    ])
      assert.ok(asked(host), host);
    for (const host of [
      '127.0.0.1.rebind.attacker.example:9464',
      '127.attacker.example',
      '127.0.0.1.nip.io',
      'localhost.attacker.example',
      '127.0.0.256',
      '[::1].evil',
      'evil.example',
      '',
    ])
      assert.ok(!asked(host), host);

    const stack = await consoleDaemon();
    const port = stack.daemon.healthPort!;
    try {
      assert.equal((await http(port, 'GET', '/console', { host: `evil.example:${port}` })).status, 421);
      for (const host of [`127.0.0.1.rebind.attacker.example:${port}`, `127.attacker.example:${port}`]) {
        const page = await http(port, 'GET', '/console', { host });
        const action = await http(
          port,
          'POST',
          '/console/action',
          {
            host,
            cookie: cookieOf(page.headers),
            origin: `http://${host}`,
            'sec-fetch-site': 'same-origin',
            'content-type': 'application/x-www-form-urlencoded',
          },
          new URLSearchParams({ csrf: csrfOf(page.body), action: 'retry-failed' }).toString(),
        );
        assert.deepEqual(
          { page: page.status, action: action.status, queued: stack.store.getMeta('console_queue') ?? null },
          { page: 421, action: 421, queued: null },
          host,
        );
      }
    } finally {
      await stack.stop();
    }
  });

  it('does not wait for a hanging IDENT once per failing patient: one lookup at a time, failures remembered, the page says names are missing', async () => {
    class HangingSource extends MemorySource {
      hang = false;
      asked = 0;
      inFlight = 0;
      mostInFlight = 0;
      override async one(id: string) {
        if (!this.hang) return super.one(id);
        this.asked += 1;
        this.inFlight += 1;
        this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
        // A query that ends in the driver's timeout.
        await new Promise((resolve) => setTimeout(resolve, 300));
        this.inFlight -= 1;
        throw new Error('no answer from SQL Server in time');
      }
    }
    const source = new HangingSource([syntheticPatient(9501, T0)]);
    const stack = await consoleDaemon({ source });
    try {
      stack.store.recordFailures(
        Array.from({ length: 20 }, (_, i) => ({
          patientId: String(10_000 + i),
          reason: 'amoCRM answered 502',
        })),
      );
      source.hang = true;
      const pages = await Promise.all([fetch(stack.url), fetch(stack.url), fetch(stack.url)]);
      for (const page of pages) assert.equal(page.status, 200);
      const html = await (await fetch(stack.url)).text();
      assert.match(html, /data-id="10000"/);
      assert.match(html, /IDENT did not give the names/);
      assert.equal(source.mostInFlight, 1, 'never more than one lookup in flight');
      // IDENT not answering is remembered for the whole page: one lookup, not one per patient.
      assert.equal(source.asked, 1, `IDENT was asked ${source.asked} times`);
    } finally {
      await stack.stop();
    }
  });

  it('refuses "sync this visit again" with a sentence when the daemon syncs no receptions, and shows no such button', async () => {
    const stack = await consoleDaemon();
    try {
      const page = await visit(stack.url);
      assert.ok(!page.html.includes('Sync this visit again'));
      assert.equal((await page.post({ action: 'resync-reception', id: '4242' })).status, 303);
      assert.deepEqual(readQueue(stack.store).receptions, []);
      assert.match(noticeOf(await page.page()) ?? '', /SYNC_RECEPTIONS/);
      const off = { ...target(stack.store), receptions: () => false };
      assert.match(perform({ kind: 'resync-reception', id: '4243' }, off, silentLogger()), /SYNC_RECEPTIONS/);
      assert.deepEqual(readQueue(stack.store).receptions, []);
    } finally {
      await stack.stop();
    }
  });

  it('200 cookie-less GETs (an <img> loop on any site) do not log the operator out', async () => {
    const stack = await consoleDaemon();
    try {
      const operator = await visit(stack.url);
      for (let i = 0; i < 250; i++) await (await fetch(stack.url)).text();
      const response = await operator.post({ action: 'retry-failed' });
      assert.equal(response.status, 303, 'the operator’s session was evicted: "this page is out of date"');
      assert.match(noticeOf(await operator.page()) ?? '', /Every failed patient and visit is retried/);
    } finally {
      await stack.stop();
    }
  });

  it('a session cookie the daemon did not make is no session: with a token the page still asks for it', async () => {
    const stack = await consoleDaemon({ env: { CONSOLE_TOKEN: 'console-token-for-tests-0123' } });
    try {
      const forged = await fetch(stack.url, { headers: { cookie: 'ident_console=made-up.by-someone' } });
      assert.equal(forged.status, 401);
    } finally {
      await stack.stop();
    }
  });

  it('a ?token= always leaves the address bar, and a wrong one is refused even with a session', async () => {
    const token = 'console-token-for-tests-0123';
    const stack = await consoleDaemon({ env: { CONSOLE_TOKEN: token } });
    try {
      const first = await fetch(`${stack.url}?token=${token}`, { redirect: 'manual' });
      assert.equal(first.status, 303);
      assert.equal(first.headers.get('location'), '/console');
      const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
      assert.equal((await fetch(stack.url, { headers: { cookie } })).status, 200);
      const again = await fetch(`${stack.url}?token=${token}`, { headers: { cookie }, redirect: 'manual' });
      assert.equal(again.status, 303, 'the token stays in the address bar');
      assert.equal(again.headers.get('location'), '/console');
      const wrong = await fetch(`${stack.url}?token=wrong-token-0000000000`, {
        headers: { cookie },
        redirect: 'manual',
      });
      assert.equal(wrong.status, 401, 'a wrong token is ignored');
    } finally {
      await stack.stop();
    }
  });

  it('does not say an id is queued when the queue is full and it was not', () => {
    const store = new StateStore(tempDir('console-queue-'));
    try {
      for (let id = 1; id <= 1000; id++)
        perform({ kind: 'resync-patient', id: String(id) }, target(store), silentLogger());
      const notice = perform({ kind: 'resync-patient', id: '5000' }, target(store), silentLogger());
      assert.ok(!readQueue(store).patients.includes('5000'));
      assert.doesNotMatch(notice, /is synced again/);
      assert.match(notice, /1000/);
      const again = perform({ kind: 'resync-patient', id: '1' }, target(store), silentLogger());
      assert.match(again, /is synced again/, 'an id already queued is still queued');
    } finally {
      store.close();
    }
  });

  it('escapes hostile values from IDENT, amoCRM and the state; refuses Origin null, missing or cross-site', async () => {
    const X = `"'><script>alert(1)</script><img src=x onerror=alert(2)>`;
    const source = new MemorySource([{ ...syntheticPatient(9501, T0), Surname: `<b>${X}`, Name: `"${X}` }]);
    const stack = await consoleDaemon({ source });
    const port = stack.daemon.healthPort!;
    const host = `127.0.0.1:${port}`;
    try {
      stack.store.recordFailures([{ patientId: '9501', reason: `amoCRM refused ${X}` }]);
      const page = await visit(stack.url);
      assert.ok(!page.html.includes('<script>alert') && !page.html.includes('<img src=x'));
      const first = await http(port, 'GET', '/console', { host });
      const cookie = cookieOf(first.headers);
      const body = new URLSearchParams({ csrf: csrfOf(first.body), action: 'retry-failed' }).toString();
      const form = { host, cookie, 'content-type': 'application/x-www-form-urlencoded' };
      for (const extra of [
        { origin: 'null' },
        { origin: 'http://evil.example' },
        { origin: `http://${host}.evil.example` },
        { origin: `http://${host}`, 'sec-fetch-site': 'same-site' },
        { origin: `http://${host}`, 'sec-fetch-site': 'cross-site' },
        {},
        { 'sec-fetch-site': 'none' },
      ] as Record<string, string>[]) {
        const response = await http(port, 'POST', '/console/action', { ...form, ...extra }, body);
        assert.equal(response.status, 403, JSON.stringify(extra));
      }
      const other = await http(port, 'GET', '/console', { host });
      const reused = await http(
        port,
        'POST',
        '/console/action',
        { ...form, cookie: cookieOf(other.headers), origin: `http://${host}` },
        body,
      );
      assert.equal(reused.status, 403, 'a CSRF token of another session');
      assert.equal(stack.store.getMeta('console_queue'), undefined, 'nothing queued');
      const ok = await http(port, 'POST', '/console/action', { ...form, origin: `http://${host}` }, body);
      assert.equal(ok.status, 303, 'control: the page’s own POST is taken');
      assert.equal((await fetch(`${stack.url}/action?action=deep`)).status, 404, 'GET takes no action');
    } finally {
      await stack.stop();
    }
  });
});

function target(store: StateStore) {
  return {
    store: () => store,
    requestRun: () => 'after the run in progress' as const,
    receptions: () => true,
  };
}
