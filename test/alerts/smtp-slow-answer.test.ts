import assert from 'node:assert/strict';
import { it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';
import { startFakeSmtp } from './smtp-fake.ts';

/** A mail server that takes the whole message, then answers the final dot with endless "250-" lines. */
it('a mail server that trickles its answer to the message does not hold the send forever', async () => {
  const smtp = await startFakeSmtp({ trickle: true });
  const channel = emailChannel({
    host: '127.0.0.1',
    port: smtp.port,
    tls: 'none',
    from: 'sync@clinic.test',
    to: 'ops@clinic.test',
  } as never);
  const started = Date.now();
  const outcome = await Promise.race([
    channel.send({ event: 'test', rule: 'test', title: 't', reason: 'r', source: 's' }).then(
      () => 'sent',
      (error: Error) => `failed: ${error.message}`,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still hanging'), 60_000).unref()),
  ]);
  await smtp.close();
  assert.notEqual(outcome, 'still hanging', `send() still pending after ${Date.now() - started} ms`);
});
