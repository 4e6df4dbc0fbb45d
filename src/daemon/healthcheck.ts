/**
 * The container's HEALTHCHECK (`node dist/src/daemon/healthcheck.js`): asks the daemon's /healthz
 * and prints the answer's reason, which `docker inspect` shows in State.Health.Log. Exit 0 when
 * healthy, 1 when not. HEALTH_PORT=0 switches the health server off: there is nothing to ask, so
 * the check says so and passes (instead of leaving the container unhealthy forever).
 */
const TIMEOUT_MS = 4000;

function target(env: NodeJS.ProcessEnv): { url?: string; off?: string; bad?: string } {
  const rawPort = (env.HEALTH_PORT ?? '').trim() || '9464';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) return { bad: `HEALTH_PORT=${rawPort} is not a port number` };
  if (port === 0)
    return {
      off: 'HEALTH_PORT=0 switches /healthz off, so nothing checks the daemon; set HEALTH_PORT to a port (9464) to have its health checked',
    };
  // The daemon listens on HEALTH_HOST; on every interface (0.0.0.0, ::) it answers on loopback too.
  const host = (env.HEALTH_HOST ?? '').trim().replace(/^\[(.*)\]$/, '$1');
  const ask = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { url: `http://${ask.includes(':') ? `[${ask}]` : ask}:${port}/healthz` };
}

async function check(env: NodeJS.ProcessEnv): Promise<{ healthy: boolean; line: string }> {
  const { url, off, bad } = target(env);
  if (off) return { healthy: true, line: off };
  if (bad || !url) return { healthy: false, line: `${bad}: set HEALTH_PORT to 0…65535` };
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return {
      healthy: false,
      line: `no answer from ${url} (${cause}): the daemon is not running or not listening there (HEALTH_PORT, HEALTH_HOST)`,
    };
  }
  const text = await response.text();
  let reason = text.trim().slice(0, 500);
  try {
    reason = String((JSON.parse(text) as { reason?: unknown }).reason ?? reason);
  } catch {
    // Not the daemon's JSON: the text itself is the best reason there is.
  }
  return {
    healthy: response.ok,
    line: `${response.ok ? 'healthy' : `unhealthy (${response.status})`}: ${reason}`,
  };
}

const { healthy, line } = await check(process.env);
process.stdout.write(`${line}\n`);
process.exitCode = healthy ? 0 : 1;
