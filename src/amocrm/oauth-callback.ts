import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActionableError } from '../errors.ts';

export interface CallbackResult {
  code: string;
  /** The account host amoCRM reports, e.g. clinic.amocrm.ru */
  referer: string | undefined;
}

export interface CallbackServer {
  /** Where it listens (the port may have been chosen by the system). */
  port: number;
  result: Promise<CallbackResult>;
  close(): Promise<void>;
}

const page = (title: string, text: string) =>
  `<!doctype html><html lang="ru"><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>${title}</h1><p>${text}</p></body></html>`;

/**
 * Waits for amoCRM's redirect after consent. A request whose `state` is not ours is refused and
 * the wait goes on (it may be a stale tab or someone else's link); a denied consent ends it.
 */
export async function listenForCallback(options: {
  host: string;
  port: number;
  path: string;
  state: string;
  timeoutMs: number;
}): Promise<CallbackServer> {
  let settle!: { resolve: (result: CallbackResult) => void; reject: (error: Error) => void };
  const result = new Promise<CallbackResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://callback');
    const reply = (status: number, title: string, text: string) => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      response.end(page(title, text));
    };
    if (url.pathname.replace(/\/+$/, '') !== options.path.replace(/\/+$/, '')) {
      return reply(404, 'Not found', 'This is the ident-sync authorisation callback.');
    }
    if (url.searchParams.get('state') !== options.state) {
      return reply(
        400,
        'Wrong state',
        'This link does not belong to the running `ident-sync auth`. Open the URL it printed.',
      );
    }
    const denied = url.searchParams.get('error');
    if (denied) {
      reply(
        200,
        'Access not granted',
        'Authorisation was declined in amoCRM. Run `ident-sync auth` again to retry.',
      );
      return settle.reject(
        new ActionableError(
          'authorisation was declined in amoCRM; run `ident-sync auth` again and allow access',
        ),
      );
    }
    const code = url.searchParams.get('code');
    if (!code) return reply(400, 'No code', 'amoCRM did not send an authorisation code.');
    reply(200, 'Done', 'ident-sync received the authorisation. You can close this page.');
    settle.resolve({ code, referer: url.searchParams.get('referer') ?? undefined });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new ActionableError(
              `port ${options.port} is busy; stop what uses it or change the port in AMOCRM_REDIRECT_URI`,
            )
          : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
            ? new ActionableError(
                `cannot listen on ${options.host}, the host of AMOCRM_REDIRECT_URI, from this machine; pass --host 0.0.0.0 to listen on every interface (as the container does)`,
                { exitCode: 2 },
              )
            : error,
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const timer = setTimeout(
    () =>
      settle.reject(
        new ActionableError(
          `no answer from amoCRM within ${Math.round(options.timeoutMs / 60_000)} minutes; run \`ident-sync auth\` again`,
        ),
      ),
    options.timeoutMs,
  );
  const close = async () => {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as AddressInfo).port, result, close };
}
