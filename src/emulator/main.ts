import { AmoCrmEmulator } from './server.ts';

/**
 * `npm run emulator` — an amoCRM look-alike on 127.0.0.1 for manual trials and the demo.
 * EMULATOR_PORT (default 8090), EMULATOR_LONG_LIVED_TOKEN (a token accepted as long-lived),
 * EMULATOR_CLIENT_ID / EMULATOR_CLIENT_SECRET / EMULATOR_REDIRECT_URI for the OAuth flow,
 * EMULATOR_LATENCY_MS (added to every answer), EMULATOR_RATE_LIMIT (requests per second before
 * 429; amoCRM's 7 by default — raise it only to profile the sync's own CPU without waiting),
 * EMULATOR_SYSTEM_STAGES=english for an account whose system stages carry kommo.com's English names
 * ("Closed - won", "Closed - lost"; Russian by default).
 */
const host = process.env.EMULATOR_HOST ?? '127.0.0.1';
const portText = process.env.EMULATOR_PORT ?? '8090';
const port = Number(portText);
const fail = (sentence: string): never => {
  process.stderr.write(`error: ${sentence}\n`);
  process.exit(1);
};
if (!/^\d+$/.test(portText.trim()) || port > 65_535)
  fail(`EMULATOR_PORT=${JSON.stringify(portText)}: expected a port number from 0 to 65535`);
const emulator = new AmoCrmEmulator({
  port,
  host,
  clientId: process.env.EMULATOR_CLIENT_ID,
  clientSecret: process.env.EMULATOR_CLIENT_SECRET,
  redirectUri: process.env.EMULATOR_REDIRECT_URI,
  longLivedTokens: process.env.EMULATOR_LONG_LIVED_TOKEN ? [process.env.EMULATOR_LONG_LIVED_TOKEN] : [],
  latencyMs: Number(process.env.EMULATOR_LATENCY_MS ?? 0),
  rateLimit: Number(process.env.EMULATOR_RATE_LIMIT ?? 7),
  systemStages: process.env.EMULATOR_SYSTEM_STAGES === 'english' ? 'english' : 'russian',
});
await emulator.start().catch((error: NodeJS.ErrnoException) => fail(listenFailure(error)));
const say = (line: string) => process.stdout.write(`${line}\n`);
say(`amoCRM emulator listening on ${emulator.baseUrl}`);
// Test credentials of an emulator on this machine, printed so ident-sync can be pointed at it.
say(
  `  client_id=${emulator.options.clientId} client_secret=${emulator.options.clientSecret} redirect_uri=${emulator.options.redirectUri}`,
);
if (process.env.EMULATOR_LONG_LIVED_TOKEN)
  say(`  long-lived token: ${process.env.EMULATOR_LONG_LIVED_TOKEN}`);
say(`  contacts: ${emulator.baseUrl}/ (a list in the browser), ${emulator.baseUrl}/__emulator/state`);
say(`  consent page: ${emulator.baseUrl}/oauth?client_id=${emulator.options.clientId}&state=try`);
say(`  state: GET ${emulator.baseUrl}/__emulator/state`);
const stop = () => void emulator.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/** Why the emulator could not listen, as one sentence naming the fix. */
function listenFailure(error: NodeJS.ErrnoException): string {
  const where = `${host}:${port}`;
  if (error.code === 'EADDRINUSE')
    return `port ${port} on ${host} is already in use (another emulator or a demo?): stop it, or set EMULATOR_PORT to a free port`;
  if (error.code === 'EACCES')
    return `not allowed to listen on ${where}: set EMULATOR_PORT to a port above 1023`;
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
    return `EMULATOR_HOST=${host} is not an address of this machine: set it to 127.0.0.1`;
  return `cannot listen on ${where} (${error.code ?? error.message}): set EMULATOR_HOST / EMULATOR_PORT to a free local address`;
}
