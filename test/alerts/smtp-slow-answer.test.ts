import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { emailChannel } from '../../src/alerts/email.ts';

/** A mail server that takes the whole message, then answers the final dot with endless "250-" lines. */
it('a mail server that trickles its answer to the message does not hold the send forever', async () => {
  const sockets = new Set<Socket>();
  const timers: NodeJS.Timeout[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buffer = '';
    let inData = false;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 drip ready');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            timers.push(setInterval(() => reply('250-still queueing'), 2_000));
          }
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') {
          reply('250-drip');
          reply('250 8BITMIME');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go');
        } else reply('250 ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(45506, '127.0.0.1', resolve));
  const channel = emailChannel({
    host: '127.0.0.1',
    port: 45506,
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
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  server.close();
  assert.notEqual(outcome, 'still hanging', `send() still pending after ${Date.now() - started} ms`);
});
