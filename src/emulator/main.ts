import { AmoCrmEmulator } from './server.ts';
import { emulatorSettings, HELP } from './settings.ts';

/** `npm run emulator` — an amoCRM look-alike on 127.0.0.1 for manual trials; `-- --help` lists its settings. */
const checked = emulatorSettings(process.argv.slice(2), process.env);
if ('help' in checked) {
  process.stdout.write(HELP);
  process.exit(0);
}
if ('error' in checked) {
  process.stderr.write(`error: ${checked.error}\n`);
  process.exit(1);
}
const settings = checked;
const { host, port } = settings;
const fail = (sentence: string): never => {
  process.stderr.write(`error: ${sentence}\n`);
  process.exit(1);
};
const emulator = new AmoCrmEmulator({
  port,
  host,
  clientId: process.env.EMULATOR_CLIENT_ID,
  clientSecret: process.env.EMULATOR_CLIENT_SECRET,
  redirectUri: process.env.EMULATOR_REDIRECT_URI,
  longLivedTokens: process.env.EMULATOR_LONG_LIVED_TOKEN ? [process.env.EMULATOR_LONG_LIVED_TOKEN] : [],
  latencyMs: settings.latencyMs,
  rateLimit: settings.rateLimit,
  systemStages: settings.systemStages,
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
