import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.ts';
import { type ActionTarget, parseAction, perform } from './actions.ts';
import {
  cookieOf,
  hostAllowed,
  sameOrigin,
  sameSecret,
  SESSION_COOKIE,
  sessionCookie,
  Sessions,
} from './auth.ts';
import { CONSOLE_CSS, CONSOLE_JS, renderPage } from './render.ts';
import { type ConsoleSources, consoleView } from './view.ts';

export interface ConsoleOptions {
  /** The address the server listens on: off loopback a token is required. */
  host: string;
  /** The token asked for; undefined on loopback without CONSOLE_TOKEN. */
  token: string | undefined;
  sources: ConsoleSources;
  target: ActionTarget;
  logger: Logger;
}

const MAX_FORM_BYTES = 4096;
/** Notices waiting for their session's next page; one never fetched is dropped, oldest first. */
const MAX_NOTICES = 100;
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // 'no-referrer' would make the browser send `Origin: null` with the console's own forms.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

function send(
  response: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': type, ...SECURITY_HEADERS, ...headers });
  response.end(body);
}

const refuse = (response: ServerResponse, status: number, sentence: string) =>
  send(response, status, 'text/plain; charset=utf-8', `${sentence}\n`);

function readForm(request: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_FORM_BYTES) chunks.push(chunk);
    });
    request.on('end', () =>
      resolve(
        size > MAX_FORM_BYTES ? undefined : new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      ),
    );
    request.on('error', () => resolve(undefined));
  });
}

/** SQLite's "database is locked" (SQLITE_BUSY, SQLITE_LOCKED): a run holds the state's write lock. */
const stateBusy = (error: unknown) =>
  error instanceof Error &&
  ((error as { errcode?: number }).errcode === 5 ||
    (error as { errcode?: number }).errcode === 6 ||
    /database is locked|database table is locked|SQLITE_BUSY/i.test(error.message));

/**
 * The console under /console: the page (GET), its stylesheet and script, and the actions (POST,
 * same-origin, with the session's CSRF token). Returns false for paths that are not the console's.
 */
export function consoleHandler(options: ConsoleOptions) {
  const sessions = new Sessions();
  const notices = new Map<string, string>();
  const { logger } = options;

  const session = (request: IncomingMessage) => {
    const id = cookieOf(request, SESSION_COOKIE);
    const csrf = sessions.csrfOf(id);
    return id !== undefined && csrf !== undefined ? { id, csrf } : undefined;
  };

  async function page(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    let current = session(request);
    const inAddress = url.searchParams.get('token') ?? undefined;
    const given = inAddress ?? /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    // A token given is always checked, session or not: a wrong one is never silently ignored.
    if (options.token !== undefined && (given !== undefined || !current)) {
      if (given === undefined || !sameSecret(given, options.token)) {
        if (given !== undefined) logger.warn('console: a wrong token was given');
        return refuse(
          response,
          401,
          'The console needs its token: open /console?token=… with CONSOLE_TOKEN (or the token in the state folder’s console-token file).',
        );
      }
    }
    current ??= sessions.create();
    // The token leaves the address bar (and the browser's history) at once.
    if (url.searchParams.has('token'))
      return send(response, 303, 'text/plain', '', {
        location: '/console',
        'set-cookie': sessionCookie(current.id),
      });
    const notice = notices.get(current.id);
    notices.delete(current.id);
    const html = renderPage(await consoleView(options.sources), current.csrf, notice);
    send(response, 200, 'text/html; charset=utf-8', html, { 'set-cookie': sessionCookie(current.id) });
  }

  async function action(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const current = session(request);
    if (!sameOrigin(request, options.host)) {
      logger.warn({ origin: request.headers.origin ?? null }, 'console: a cross-site request was refused');
      return refuse(response, 403, 'Refused: console actions are taken only from the console’s own page.');
    }
    const form = await readForm(request);
    if (!current || !form || !sameSecret(form.get('csrf') ?? '', current.csrf)) {
      logger.warn('console: an action without a valid session was refused');
      return refuse(response, 403, 'Refused: this page is out of date; reload the console and try again.');
    }
    const parsed = parseAction(form);
    const notice = typeof parsed === 'string' ? parsed : perform(parsed, options.target, logger);
    notices.set(current.id, notice);
    if (notices.size > MAX_NOTICES) notices.delete(notices.keys().next().value!);
    send(response, 303, 'text/plain', '', { location: '/console' });
  }

  return (request: IncomingMessage, response: ServerResponse): boolean => {
    const target = request.url ?? '/';
    // Node passes any request-target through (`//[x`); one that is no URL is answered, not thrown.
    if (!URL.canParse(target, 'http://console.invalid')) {
      refuse(response, 400, 'Not a valid address: open /console.');
      return true;
    }
    const url = new URL(target, 'http://console.invalid');
    if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return false;
    if (!hostAllowed(request, options.host)) {
      refuse(
        response,
        421,
        'Refused: open the console as localhost or 127.0.0.1 (an SSH tunnel keeps that name).',
      );
      return true;
    }
    const done = (error: unknown) => {
      const busy = stateBusy(error);
      logger.error(
        { err: error },
        busy ? 'console: the state was busy' : 'console: the page could not be made',
      );
      if (!response.headersSent)
        refuse(
          response,
          busy ? 503 : 500,
          busy
            ? 'The state is busy (a run is writing); try again in a moment.'
            : 'The console could not read the state; the daemon log says why.',
        );
    };
    if (request.method === 'GET' && url.pathname === '/console/console.css')
      send(response, 200, 'text/css; charset=utf-8', CONSOLE_CSS);
    else if (request.method === 'GET' && url.pathname === '/console/console.js')
      send(response, 200, 'text/javascript; charset=utf-8', CONSOLE_JS);
    else if (request.method === 'GET' && (url.pathname === '/console' || url.pathname === '/console/'))
      page(request, response, url).catch(done);
    else if (request.method === 'POST' && url.pathname === '/console/action')
      action(request, response).catch(done);
    else refuse(response, 404, 'Not a console page: open /console.');
    return true;
  };
}
