import type { AlertMessage } from './message.ts';

export type ChannelName = 'telegram' | 'email' | 'webhook';

/**
 * Where alerts go. `send` rejects with one sentence naming the fix, never with a secret in it,
 * and gives up when `signal` aborts (the monitor stops, or the send's deadline passed).
 */
export interface AlertChannel {
  name: ChannelName;
  send(message: AlertMessage, signal?: AbortSignal): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** How long a receiver may stay silent (connect, each answer). */
export const SEND_TIMEOUT_MS = 15_000;
/** How long one send may take in all: a server that trickles its answers never goes silent. */
export const SEND_DEADLINE_MS = 30_000;

/**
 * Runs `send` with a signal that aborts at the deadline or when `outer` aborts, and settles by
 * then even if the send ignores its signal: one stuck receiver holds nothing else up.
 */
export async function withinDeadline(
  what: string,
  deadlineMs: number,
  outer: AbortSignal | undefined,
  send: (signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onOuter: (() => void) | undefined;
  const given = new Promise<never>((_resolve, reject) => {
    const stop = (error: DeliveryError) => {
      controller.abort(error);
      reject(error);
    };
    timer = setTimeout(
      () =>
        stop(
          new DeliveryError(
            `${what} did not finish within ${deadlineMs / 1000} s; the send was given up and is tried again later`,
          ),
        ),
      deadlineMs,
    );
    onOuter = () => stop(new DeliveryError(`${what}: the send was cut short because the alerts stopped`));
    if (outer?.aborted) onOuter();
    else outer?.addEventListener('abort', onOuter, { once: true });
  });
  given.catch(() => undefined);
  try {
    await Promise.race([send(controller.signal), given]);
  } finally {
    clearTimeout(timer);
    if (onOuter) outer?.removeEventListener('abort', onOuter);
  }
}

/** A refused connection or a timeout, as one sentence about `what` (the host only: a URL may hold a secret). */
export function networkFailure(error: unknown, what: string, setting: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const cause = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  if (error instanceof Error && error.name === 'TimeoutError')
    return new DeliveryError(
      `${what} did not answer within ${SEND_TIMEOUT_MS / 1000} s; check ${setting} and the network`,
    );
  if (cause === 'ENOTFOUND' || cause === 'EAI_AGAIN')
    return new DeliveryError(`${what}: the host name does not resolve; check ${setting}`);
  return new DeliveryError(
    `${what} could not be reached${cause ? ` (${cause})` : ''}; check ${setting} and that this machine may connect out`,
  );
}

/**
 * A JSON POST of an alert: never following a redirect (it would turn the POST into a GET without
 * the alert, or carry a secret to another host), within the send's timeout and its deadline; a
 * network failure is one sentence naming `what` and the setting to check.
 */
export async function postJson(
  url: string | URL,
  body: unknown,
  signal: AbortSignal,
  failure: { what: string; setting: string },
  headers: Record<string, string> = {},
): Promise<Response> {
  try {
    return await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]),
    });
  } catch (error) {
    throw networkFailure(signal.reason ?? error, failure.what, failure.setting);
  }
}
