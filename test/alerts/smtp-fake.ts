import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface FakeMail {
  auth: string | undefined;
  from: string;
  to: string[];
  data: string;
}

/**
 * A tiny SMTP server on loopback, plain text only: enough of RFC 5321 for nodemailer to hand it a
 * message (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT). `password` set: AUTH is required and only
 * that password passes. `trickle`: a tarpit — it takes the message, then answers the final dot with
 * "250-" continuation lines every 2 s, never the last line. `refuseRecipient`: the reply to a RCPT
 * it refuses (a greylisting "450 …"), undefined to take it.
 */
export async function startFakeSmtp(
  options: {
    password?: string;
    trickle?: boolean;
    refuseRecipient?: (address: string) => string | undefined;
  } = {},
) {
  const mails: FakeMail[] = [];
  const sockets = new Set<Socket>();
  const timers: NodeJS.Timeout[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    let buffer = '';
    let inData = false;
    let mail: FakeMail = { auth: undefined, from: '', to: [], data: '' };
    let authed = options.password === undefined;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 fake-smtp ready');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            mails.push(mail);
            mail = { auth: mail.auth, from: '', to: [], data: '' };
            if (options.trickle) timers.push(setInterval(() => reply('250-still queueing'), 2_000));
            else reply('250 queued');
          } else mail.data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          continue;
        }
        const [verb = '', ...rest] = line.split(' ');
        const argument = rest.join(' ');
        switch (verb.toUpperCase()) {
          case 'EHLO':
            reply('250-fake-smtp');
            reply('250 AUTH PLAIN');
            break;
          case 'AUTH': {
            const [, encoded = ''] = argument.split(' ');
            const [, user, password] = Buffer.from(encoded, 'base64').toString('utf8').split('\0');
            if (password === options.password) {
              authed = true;
              mail.auth = user;
              reply('235 accepted');
            } else reply('535 authentication failed');
            break;
          }
          case 'MAIL':
            if (!authed) reply('530 authentication required');
            else {
              mail.from = /<([^>]*)>/.exec(argument)?.[1] ?? '';
              reply('250 ok');
            }
            break;
          case 'RCPT': {
            const address = /<([^>]*)>/.exec(argument)?.[1] ?? '';
            const refused = options.refuseRecipient?.(address);
            if (refused) reply(refused);
            else {
              mail.to.push(address);
              reply('250 ok');
            }
            break;
          }
          case 'DATA':
            inData = true;
            reply('354 go on');
            break;
          case 'QUIT':
            reply('221 bye');
            socket.end();
            break;
          default:
            reply('250 ok');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mails,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
