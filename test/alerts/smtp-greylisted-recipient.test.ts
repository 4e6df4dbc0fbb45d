import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';

/** A mail server that greylists one recipient (450, "try again later") and queues for the other. */
it('a greylisted recipient among two is sent the alert later, not dropped', async () => {
  const delivered: string[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buffer = '';
    let inData = false;
    let to: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 grey ready');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            delivered.push(to);
            to = [];
            reply('250 queued');
          }
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') reply('250 grey');
        else if (verb === 'RCPT') {
          if (line.includes('doctor@')) reply('450 4.2.0 greylisted, try again later');
          else {
            to.push(line);
            reply('250 ok');
          }
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go');
        } else reply('250 ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(45515, '127.0.0.1', resolve));
  const channel = emailChannel({
    host: '127.0.0.1',
    port: 45515,
    tls: 'none',
    from: 'sync@clinic.test',
    to: ['ops@clinic.test', 'doctor@clinic.test'],
  } as never);
  let outcome = 'sent';
  await channel
    .send({ event: 'opened', rule: 'failed-runs', title: 't', reason: 'r', source: 's' })
    .catch((error: Error) => (outcome = `failed: ${error.message}`));
  for (const s of sockets) s.destroy();
  server.close();
  // "sent" means the monitor settles the message for this channel: doctor@ never gets it.
  assert.notEqual(
    outcome,
    'sent',
    `send() resolved; the server queued it for ${JSON.stringify(delivered)} only`,
  );
});
