import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { it } from 'node:test';
import { tempDir } from '../helpers/amocrm.ts';

it('kill -9 while the webhook is answering: the restart sends the same alert again, with the same incident id', async () => {
  const stateDir = tempDir('alerts-kill-');
  let child: ChildProcess | undefined;
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      // The receiver has the alert; the sender dies before it hears the 200 (OOM, power, SIGKILL after the grace).
      if (bodies.length === 1) child?.kill('SIGKILL');
      setTimeout(() => res.writeHead(200).end('{}'), 200);
    });
  });
  await new Promise<void>((resolve) => server.listen(45510, '127.0.0.1', resolve));
  const run = () =>
    new Promise<number | null>((resolve) => {
      child = spawn(process.execPath, ['test/alerts/kill-child.ts', stateDir], { stdio: 'inherit' });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    });
  await run();
  await run();
  await run();
  server.closeAllConnections();
  server.close();
  // Delivery is at least once: the receiver took the first copy, the sender never heard so. What
  // makes that harmless is that both copies name the same incident and event (docs/alerts.md).
  const events = bodies.map((b) => {
    const message = JSON.parse(b) as { event: string; rule: string; incident: unknown };
    return `${message.event} ${message.rule} #${String(message.incident)}`;
  });
  assert.equal(bodies.length, 2, `the receiver got ${bodies.length} copies`);
  assert.equal(typeof (JSON.parse(bodies[0]!) as { incident: unknown }).incident, 'number');
  assert.deepEqual(events[1], events[0]);
});
