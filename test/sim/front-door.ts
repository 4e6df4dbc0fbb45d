import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimClock } from './clock.ts';

/**
 * amoCRM's front door as the simulation sees it: every request of the sync passes here on its way
 * to the emulator. It records when each one arrived (the pace is judged here, not by the client or
 * the emulator), and it is where amoCRM's faults and the process's death happen: an answer lost
 * after the write was applied, a write applied later than the client waited, a 429 burst, a listing
 * that lags behind writes, a `Date` header that runs ahead or behind, and a kill at a chosen request.
 * Each incarnation of the sync (a process life) comes through its own path, `/life/N/…`; a dead
 * one's requests never reach amoCRM.
 */
export interface Arrival {
  t: number;
  life: number;
  method: string;
  path: string;
  write: boolean;
}

export type KillMode = 'before' | 'applied' | 'delayed';

export interface Armed {
  /** The next write is applied and answered 502. */
  applied5xx: number;
  /** The next write is applied and its answer lost (connection dropped). */
  lostAnswer: number;
  /** The next create is applied only this many ms later; the client sees its connection dropped. */
  delayedApplyMs: number | undefined;
  /** The next requests are answered 429 without reaching amoCRM. */
  tooMany: number;
  /** Lists omit entities created less than this many ms ago. */
  listingLagMs: number;
  /** amoCRM's Date header runs this far ahead (+) or behind (−) its data's clock. */
  dateSkewMs: number;
  /** Kill the sync when its life sends this many more requests: the last one as `mode` says. */
  killAfter: { requests: number; mode: KillMode; delayMs: number } | undefined;
  /** Something a person does in amoCRM when the sync's life sends this many more requests. */
  during: { requests: number; action: () => void } | undefined;
}

export const CALM: Armed = {
  applied5xx: 0,
  lostAnswer: 0,
  delayedApplyMs: undefined,
  tooMany: 0,
  listingLagMs: 0,
  dateSkewMs: 0,
  killAfter: undefined,
  during: undefined,
};

interface Held {
  due: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export class FrontDoor {
  readonly arrivals: Arrival[] = [];
  armed: Armed = { ...CALM };
  private server: Server | undefined;
  private readonly clock: SimClock;
  private readonly target: () => string;
  private alive = 0;
  private readonly held: Held[] = [];
  /** Requests being handled (read, forwarded, answered): amoCRM has them in hand. */
  private handling = 0;
  private killed: ((life: number) => void) | undefined;
  /** Requests reached amoCRM that were later applied (delayed creates), for the report. */
  delayedApplied = 0;

  constructor(clock: SimClock, target: () => string) {
    this.clock = clock;
    this.target = target;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      void this.handle(request, response).catch(() => {
        if (!response.headersSent) response.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** A new life of the sync: its base URL. Every earlier life is dead from now on. */
  newLife(life: number): string {
    this.alive = life;
    const address = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/life/${life}`;
  }

  onKill(callback: ((life: number) => void) | undefined): void {
    this.killed = callback;
  }

  /** Applies the delayed writes whose time has come (amoCRM finishing what it received). */
  async settle(force = false): Promise<void> {
    const now = this.clock.monotonic();
    for (let index = 0; index < this.held.length;) {
      const held = this.held[index]!;
      if (!force && held.due > now) {
        index += 1;
        continue;
      }
      this.held.splice(index, 1);
      await this.forward(held.method, held.path, held.headers, held.body);
      this.delayedApplied += 1;
    }
  }

  /** When the next delayed write is due (monotonic ms), if any. */
  nextDue(): number | undefined {
    return this.held.reduce<number | undefined>(
      (min, held) => (min === undefined || held.due < min ? held.due : min),
      undefined,
    );
  }

  get pendingApplies(): number {
    return this.held.length;
  }

  /**
   * Waits until every request amoCRM has in hand is done with. A kill does not stop what amoCRM
   * already received: it applies it at once, not after the hour the history lets pass next.
   */
  async drain(): Promise<void> {
    while (this.handling > 0) await new Promise((resolve) => setImmediate(resolve));
  }

  private async handle(
    request: IncomingMessage,
    response: import('node:http').ServerResponse,
  ): Promise<void> {
    this.handling += 1;
    try {
      await this.handleOne(request, response);
    } finally {
      this.handling -= 1;
    }
  }

  private async handleOne(
    request: IncomingMessage,
    response: import('node:http').ServerResponse,
  ): Promise<void> {
    this.clock.inFlight = Math.max(0, this.clock.inFlight - 1);
    const body = await readAll(request);
    const match = /^\/life\/(\d+)(\/.*)$/.exec(request.url ?? '');
    const life = match ? Number(match[1]) : -1;
    if (!match || life !== this.alive) {
      // A dead process sends nothing.
      response.destroy();
      return;
    }
    await this.settle();
    const path = match[2]!;
    const method = request.method ?? 'GET';
    const write = method !== 'GET';
    this.arrivals.push({ t: this.clock.monotonic(), life, method, path, write });
    const headers = forwardable(request.headers);
    const armed = this.armed;

    if (armed.during && --armed.during.requests <= 0) {
      const { action } = armed.during;
      armed.during = undefined;
      action();
    }
    if (armed.killAfter && --armed.killAfter.requests <= 0) {
      const { mode, delayMs } = armed.killAfter;
      armed.killAfter = undefined;
      this.alive = -1;
      if (mode === 'applied') await this.forward(method, path, headers, body);
      if (mode === 'delayed')
        this.held.push({ due: this.clock.monotonic() + delayMs, method, path, headers, body });
      // The process is gone: its connection stays open and silent until the history ends.
      this.killed?.(life);
      return;
    }
    if (armed.tooMany > 0) {
      armed.tooMany -= 1;
      return reply(response, 429, { title: 'Too Many Requests', status: 429 }, this.dateHeader());
    }
    if (write && method === 'POST' && armed.delayedApplyMs !== undefined) {
      this.held.push({ due: this.clock.monotonic() + armed.delayedApplyMs, method, path, headers, body });
      armed.delayedApplyMs = undefined;
      response.destroy();
      return;
    }
    const answer = await this.forward(method, path, headers, body);
    if (write && armed.applied5xx > 0) {
      armed.applied5xx -= 1;
      return reply(response, 502, { title: 'Bad Gateway', status: 502 }, this.dateHeader());
    }
    if (write && armed.lostAnswer > 0) {
      armed.lostAnswer -= 1;
      response.destroy();
      return;
    }
    let text = answer.body;
    if (method === 'GET' && armed.listingLagMs > 0 && answer.status === 200) text = this.lagged(path, text);
    response.writeHead(answer.status, { ...answer.headers, ...this.dateHeader() });
    response.end(text);
  }

  private dateHeader(): Record<string, string> {
    return { date: new Date(this.clock.trueNow() + this.armed.dateSkewMs).toUTCString() };
  }

  /** A listing made before amoCRM indexed what was created lately. */
  private lagged(path: string, text: string): string {
    const kind = /^\/api\/v4\/(contacts|leads)(\?|$)/.exec(path)?.[1];
    if (!kind) return text;
    const cutoff = (this.clock.trueNow() - this.armed.listingLagMs) / 1000;
    try {
      const page = JSON.parse(text) as { _embedded?: Record<string, { created_at?: number }[]> };
      const list = page._embedded?.[kind];
      if (!list) return text;
      page._embedded![kind] = list.filter((entity) => (entity.created_at ?? 0) <= cutoff);
      return JSON.stringify(page);
    } catch {
      return text;
    }
  }

  private forward(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const url = new URL(path, this.target());
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(url, { method, headers, agent: false }, (incoming) => {
        void readAll(incoming).then((data) => {
          const kept: Record<string, string> = {};
          const type = incoming.headers['content-type'];
          if (type) kept['content-type'] = type;
          const retryAfter = incoming.headers['retry-after'];
          if (retryAfter) kept['retry-after'] = String(retryAfter);
          resolve({ status: incoming.statusCode ?? 500, headers: kept, body: data.toString('utf8') });
        }, reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}

function forwardable(headers: IncomingMessage['headers']): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ['authorization', 'content-type', 'accept', 'user-agent']) {
    const value = headers[name];
    if (typeof value === 'string') kept[name] = value;
  }
  return kept;
}

function reply(
  response: import('node:http').ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string>,
): void {
  response.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  response.end(JSON.stringify(payload));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
