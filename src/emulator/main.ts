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
const emulator = new AmoCrmEmulator({
  port: Number(process.env.EMULATOR_PORT ?? 8090),
  host,
  clientId: process.env.EMULATOR_CLIENT_ID,
  clientSecret: process.env.EMULATOR_CLIENT_SECRET,
  redirectUri: process.env.EMULATOR_REDIRECT_URI,
  longLivedTokens: process.env.EMULATOR_LONG_LIVED_TOKEN ? [process.env.EMULATOR_LONG_LIVED_TOKEN] : [],
  latencyMs: Number(process.env.EMULATOR_LATENCY_MS ?? 0),
  rateLimit: Number(process.env.EMULATOR_RATE_LIMIT ?? 7),
  systemStages: process.env.EMULATOR_SYSTEM_STAGES === 'english' ? 'english' : 'russian',
});
await emulator.start();
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
