import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertChannel, ChannelName } from '../../src/alerts/channel.ts';
import { DeliveryError } from '../../src/alerts/channel.ts';
import type { AlertMessage } from '../../src/alerts/message.ts';
import type { AlertRulesConfig } from '../../src/config/config.ts';
import type { RunErrorKind, RunKind, StateStore } from '../../src/state/store.ts';

export const ZERO = {
  read: 0,
  unchanged: 0,
  created: 0,
  updated: 0,
  linked: 0,
  repaired: 0,
  failed: 0,
  requests: 0,
};

/** A finished run in the state, started at `at` and ended a minute later. */
export function recordRun(
  store: StateStore,
  at: number,
  outcome: 'ok' | 'failed',
  errorKind?: RunErrorKind,
  options: { kind?: RunKind; error?: string } = {},
): void {
  const id = store.startRun(options.kind ?? 'incremental', false, new Date(at));
  store.finishRun(
    id,
    outcome,
    ZERO,
    outcome === 'failed' ? (options.error ?? `failed: ${errorKind}`) : undefined,
    new Date(at + 60_000),
    errorKind,
  );
}

/** Every rule off but the ones given. */
export const onlyRules = (rules: Partial<AlertRulesConfig>): AlertRulesConfig => ({
  failedRuns: 0,
  noSuccessMinutes: 0,
  tokenDays: 0,
  unreachableMinutes: 0,
  account: false,
  refusedGrowth: 0,
  checkMinutes: 1,
  ...rules,
});

/** A channel that keeps what it was sent; `failNext` makes its next sends fail. */
export class RecordingChannel implements AlertChannel {
  readonly name: ChannelName;
  readonly sent: AlertMessage[] = [];
  failNext = 0;
  constructor(name: ChannelName = 'webhook') {
    this.name = name;
  }
  async send(message: AlertMessage): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new DeliveryError('the test receiver is down; the next evaluation sends again');
    }
    this.sent.push(message);
  }
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on loopback that keeps every request; `status` is what it answers. */
export async function startReceiver(
  answer: (request: Received) => { status: number; body?: unknown } = () => ({
    status: 200,
  }),
) {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(entry);
      const { status, body } = answer(entry);
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits (bounded by attempts, not by a time budget asserted on) until `done` holds. */
export async function until(done: () => boolean, what: string, attempts = 600): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}
