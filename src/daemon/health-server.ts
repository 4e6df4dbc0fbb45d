import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logging/logger.ts';
import type { DaemonMetrics } from './metrics.ts';

export interface Health {
  healthy: boolean;
  /** What is wrong (or what the daemon is doing), in words for a person. */
  reason: string;
  since: string;
}

/** Serves what it recognises (returns true), e.g. the console under /console. */
export type ExtraRoutes = (request: IncomingMessage, response: ServerResponse) => boolean;

/** GET /healthz (200 healthy, 503 with the reason as JSON), GET /metrics (Prometheus), and `extra`'s paths. */
export async function startHealthServer(
  port: number,
  health: () => Health,
  metrics: DaemonMetrics,
  host: string,
  extra?: ExtraRoutes,
  logger?: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (extra?.(request, response)) return;
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/healthz') {
      const state = health();
      response.writeHead(state.healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          status: state.healthy ? 'ok' : 'unhealthy',
          reason: state.reason,
          since: state.since,
        }),
      );
      return;
    }
    if (request.method === 'GET' && path === '/metrics') {
      metrics.setHealthy(health().healthy);
      metrics.registry
        .metrics()
        .then((text) => {
          response.writeHead(200, { 'content-type': metrics.registry.contentType });
          response.end(text);
        })
        .catch(() => {
          response.writeHead(500);
          response.end();
        });
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end(`ident-sync: GET /healthz or /metrics${extra ? ', or open /console' : ''}\n`);
  };
  // A request no route expected must never stop the daemon: it is answered 500 and logged by its
  // kind only (a message could quote the request or a patient's data).
  const server: Server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      logger?.error(
        { errorType: error instanceof Error ? error.name : typeof error, method: request.method },
        'health server: a request could not be answered',
      );
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('ident-sync: this request could not be answered; the daemon log says when.\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
