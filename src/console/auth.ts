import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { ActionableError } from '../errors.ts';
import { writeFileAtomic } from '../support/atomic-file.ts';

export const TOKEN_FILE = 'console-token';
export const SESSION_COOKIE = 'ident_console';

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const LOOPBACK_V4 = new RegExp(`^127\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * Whether a name or address is this machine only: exactly `localhost`, a literal 127.x.y.z, or ::1.
 * A name that merely begins with "127." is anyone's DNS name (a rebinding site's).
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return LOOPBACK_V4.test(bare.replace(/^::ffff:/, ''));
}

/** A Host header's (or an origin's) name, or undefined when it is not `name[:port]` / `[v6][:port]`. */
function hostName(authority: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(authority);
  return match?.[1];
}

/**
 * The token the console asks for: CONSOLE_TOKEN, else one generated once and kept (0600) in the
 * state folder. None on loopback: only this machine (or an SSH tunnel to it) reaches the page.
 */
export function consoleToken(options: {
  host: string;
  setting: string | undefined;
  stateDir: string;
  requireToken?: boolean;
}): { token: string; from: 'setting' | 'file'; path?: string } | undefined {
  if (options.setting) return { token: options.setting, from: 'setting' };
  if (!(options.requireToken ?? !isLoopback(options.host))) return undefined;
  const path = join(options.stateDir, TOKEN_FILE);
  if (existsSync(path)) {
    const stored = readFileSync(path, 'utf8').trim();
    if (stored.length < 16)
      throw new ActionableError(
        `${path} holds no usable console token; delete it (a new one is made at start) or set CONSOLE_TOKEN`,
        { exitCode: 2 },
      );
    return { token: stored, from: 'file', path };
  }
  const token = randomBytes(24).toString('base64url');
  writeFileAtomic(path, `${token}\n`, 0o600);
  return { token, from: 'file', path };
}

const digest = (text: string) => createHash('sha256').update(text).digest();
/** Compared in constant time (the lengths hidden by hashing both). */
export const sameSecret = (given: string, expected: string) =>
  timingSafeEqual(digest(given), digest(expected));

export function cookieOf(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/**
 * Browser sessions of the console, kept nowhere: a session id is a random nonce signed with this
 * process's secret, and its CSRF token is another signature of the same nonce. Nothing is stored,
 * so no number of cookie-less requests (another site's <img> loop) can push a live session out;
 * a cookie the daemon did not sign is no session. A restart (a new secret) ends every session.
 */
export class Sessions {
  private readonly secret = randomBytes(32);

  create(): { id: string; csrf: string } {
    const nonce = randomBytes(18).toString('base64url');
    return { id: `${nonce}.${this.sign('session', nonce)}`, csrf: this.sign('csrf', nonce) };
  }

  csrfOf(id: string | undefined): string | undefined {
    const [nonce, signature, ...rest] = (id ?? '').split('.');
    if (!nonce || !signature || rest.length > 0) return undefined;
    return sameSecret(signature, this.sign('session', nonce)) ? this.sign('csrf', nonce) : undefined;
  }

  private sign(purpose: string, nonce: string): string {
    return createHmac('sha256', this.secret).update(`${purpose}:${nonce}`).digest('base64url');
  }
}

export const sessionCookie = (id: string) =>
  `${SESSION_COOKIE}=${id}; Path=/console; HttpOnly; SameSite=Strict`;

/**
 * A page asked for by this machine's own name (a DNS-rebinding site names itself instead): on
 * loopback the Host header must be localhost or a loopback address.
 */
export function hostAllowed(request: IncomingMessage, boundHost: string): boolean {
  if (!isLoopback(boundHost)) return true;
  const name = hostName(request.headers.host ?? '');
  return name !== undefined && isLoopback(name);
}

/**
 * A POST from the console's own page: its Origin (sent by every current browser on a POST) names
 * the host the page was asked from, and no browser says the request is cross-site. On loopback the
 * origin's name is held to the Host check's strictness too.
 */
export function sameOrigin(request: IncomingMessage, boundHost: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return site === 'same-origin';
  const host = request.headers.host ?? '';
  if (origin !== `http://${host}` && origin !== `https://${host}`) return false;
  if (!isLoopback(boundHost)) return true;
  const name = hostName(host);
  return name !== undefined && isLoopback(name);
}
