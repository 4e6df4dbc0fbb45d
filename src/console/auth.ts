import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { ActionableError } from '../errors.ts';
import { writeFileAtomic } from '../support/atomic-file.ts';

export const TOKEN_FILE = 'console-token';
export const SESSION_COOKIE = 'ident_console';
const MAX_SESSIONS = 200;

/** Whether an address to listen on is this machine only. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\./.test(bare) || /^::ffff:127\./.test(bare);
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

/** Browser sessions of the console, each with its own CSRF token; the oldest go first. */
export class Sessions {
  private readonly sessions = new Map<string, string>();

  create(): { id: string; csrf: string } {
    const id = randomBytes(24).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.sessions.set(id, csrf);
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    return { id, csrf };
  }

  csrfOf(id: string | undefined): string | undefined {
    return id === undefined ? undefined : this.sessions.get(id);
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
  const host = (request.headers.host ?? '').toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return isLoopback(name);
}

/**
 * A POST from the console's own page: its Origin (sent by every current browser on a POST) names
 * the host the page was asked from, and no browser says the request is cross-site.
 */
export function sameOrigin(request: IncomingMessage): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return site === 'same-origin';
  return (
    origin === `http://${request.headers.host ?? ''}` || origin === `https://${request.headers.host ?? ''}`
  );
}
