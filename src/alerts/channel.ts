import type { AlertMessage } from './message.ts';

export type ChannelName = 'telegram' | 'email' | 'webhook';

/** Where alerts go. `send` rejects with one sentence naming the fix, never with a secret in it. */
export interface AlertChannel {
  name: ChannelName;
  send(message: AlertMessage): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export const SEND_TIMEOUT_MS = 15_000;

/** A refused connection or a timeout, as one sentence about `what` (the host only: a URL may hold a secret). */
export function networkFailure(error: unknown, what: string, setting: string): DeliveryError {
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
