import assert from 'node:assert/strict';
import { it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';
import { startFakeSmtp } from './smtp-fake.ts';

/** A mail server that greylists one recipient (450, "try again later") and queues for the other. */
it('a greylisted recipient among two is sent the alert later, not dropped', async () => {
  const smtp = await startFakeSmtp({
    refuseRecipient: (address) =>
      address.startsWith('doctor@') ? '450 4.2.0 greylisted, try again later' : undefined,
  });
  const channel = emailChannel({
    host: '127.0.0.1',
    port: smtp.port,
    tls: 'none',
    from: 'sync@clinic.test',
    to: ['ops@clinic.test', 'doctor@clinic.test'],
  } as never);
  let outcome = 'sent';
  await channel
    .send({ event: 'opened', rule: 'failed-runs', title: 't', reason: 'r', source: 's' })
    .catch((error: Error) => (outcome = `failed: ${error.message}`));
  await smtp.close();
  // "sent" means the monitor settles the message for this channel: doctor@ never gets it.
  assert.notEqual(
    outcome,
    'sent',
    `send() resolved; the server queued it for ${JSON.stringify(smtp.mails.map((mail) => mail.to))} only`,
  );
});
