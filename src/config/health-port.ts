/**
 * HEALTH_PORT, parsed alike by the daemon's configuration and by the container's HEALTHCHECK
 * (which must stay light: it runs every 30 s inside the daemon's memory limit, so no zod here).
 * Blank means the default 9464; 0 switches the health server off. Digits only: `-0` or `+1` are
 * no port (Number() would take `-0` for 0, the daemon would switch /healthz off and the check
 * disagree).
 */
export const DEFAULT_HEALTH_PORT = 9464;

export function parseHealthPort(raw: string | undefined): number | undefined {
  const text = (raw ?? '').trim();
  if (text === '') return DEFAULT_HEALTH_PORT;
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}
