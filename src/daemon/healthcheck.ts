/**
 * The container's HEALTHCHECK (`node dist/src/daemon/healthcheck.js`): asks the daemon's /healthz
 * and prints the answer's reason, which `docker inspect` shows in State.Health.Log. Exit 0 when
 * healthy, 1 when not. HEALTH_PORT=0 switches the health server off: there is nothing to ask, so
 * the check says so and passes (instead of leaving the container unhealthy forever).
 */
import { request } from 'node:http';
import { parseHealthPort } from '../config/health-port.ts';

const TIMEOUT_MS = 4000;
const MAX_BODY = 64 * 1024;

function target(env: NodeJS.ProcessEnv): { url?: string; off?: string; bad?: string } {
  // The daemon's own parser: both agree on what is a port and what is off.
  const port = parseHealthPort(env.HEALTH_PORT);
  if (port === undefined)
    return { bad: `HEALTH_PORT=${(env.HEALTH_PORT ?? '').trim()} is not a port number` };
  if (port === 0)
    return {
      off: 'HEALTH_PORT=0 switches /healthz off, so nothing checks the daemon; set HEALTH_PORT to a port (9464) to have its health checked',
    };
  // The daemon listens on HEALTH_HOST; on every interface (0.0.0.0, ::) it answers on loopback too.
  const host = (env.HEALTH_HOST ?? '').trim().replace(/^\[(.*)\]$/, '$1');
  const ask = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { url: `http://${ask.includes(':') ? `[${ask}]` : ask}:${port}/healthz` };
}

type Answer = { status: number; body: string } | { failure: string };

/** The whole exchange — connect, headers and body — under one deadline; never throws. */
function ask(url: string): Promise<Answer> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const settle = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outgoing.destroy();
      resolve(answer);
    };
    const outgoing = request(url, { agent: false }, (incoming) => {
      let body = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk;
      });
      incoming.on('end', () => settle({ status: incoming.statusCode ?? 0, body }));
      incoming.on('error', (error) => settle({ failure: `no answer from ${url} (${errorCode(error)})` }));
    });
    outgoing.on('socket', (socket) => {
      socket.on('connect', () => {
        connected = true;
      });
    });
    outgoing.on('error', (error) =>
      settle({
        failure: `no answer from ${url} (${errorCode(error)}): the daemon is not running or not listening there (HEALTH_PORT, HEALTH_HOST)`,
      }),
    );
    const deadline = setTimeout(
      () =>
        settle({
          failure: connected
            ? `no answer from ${url}: listening but not answering within ${TIMEOUT_MS / 1000} s (the daemon may be hung)`
            : `no answer from ${url} within ${TIMEOUT_MS / 1000} s: the daemon is not running or not reachable there (HEALTH_PORT, HEALTH_HOST)`,
        }),
      TIMEOUT_MS,
    );
    outgoing.end();
  });
}

const errorCode = (error: Error) => (error as NodeJS.ErrnoException).code ?? error.name;

async function check(env: NodeJS.ProcessEnv): Promise<{ healthy: boolean; line: string }> {
  const { url, off, bad } = target(env);
  if (off) return { healthy: true, line: off };
  if (bad || !url) return { healthy: false, line: `${bad}: set HEALTH_PORT to 0…65535` };
  const answer = await ask(url);
  if ('failure' in answer) return { healthy: false, line: answer.failure };
  let reason = answer.body.trim().slice(0, 500);
  try {
    reason = String((JSON.parse(answer.body) as { reason?: unknown }).reason ?? reason);
  } catch {
    // Not the daemon's JSON: the text itself is the best reason there is.
  }
  const ok = answer.status >= 200 && answer.status < 300;
  return { healthy: ok, line: `${ok ? 'healthy' : `unhealthy (${answer.status})`}: ${reason}` };
}

const { healthy, line } = await check(process.env);
process.stdout.write(`${line}\n`);
process.exitCode = healthy ? 0 : 1;
