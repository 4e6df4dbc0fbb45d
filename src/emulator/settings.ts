/** What `npm run emulator -- --help` prints. */
export const HELP = `npm run emulator [-- --port N]   an amoCRM look-alike on 127.0.0.1 for manual trials

  --port N                    the port (EMULATOR_PORT; 8090 by default)
  --help                      this text

Settings, from the environment:
  EMULATOR_PORT               the port, 0 to 65535 (8090; 0: any free one)
  EMULATOR_HOST               the address to listen on (127.0.0.1)
  EMULATOR_LONG_LIVED_TOKEN   a token accepted as long-lived
  EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REDIRECT_URI   the OAuth flow's
  EMULATOR_LATENCY_MS         milliseconds added to every answer, 0 to 60000 (0)
  EMULATOR_RATE_LIMIT         requests per second before 429, 1 to 100000 (amoCRM's 7; raise it
                              only to profile the sync's own CPU without waiting)
  EMULATOR_SYSTEM_STAGES      russian or english: the names of the system stages (russian;
                              english: kommo.com's "Closed - won", "Closed - lost")
`;

export interface EmulatorSettings {
  host: string;
  port: number;
  latencyMs: number;
  rateLimit: number;
  systemStages: 'russian' | 'english';
}

type Env = Record<string, string | undefined>;

/**
 * The emulator's settings from its arguments and EMULATOR_* variables, each number checked: a bad
 * one is one sentence naming the setting (EMULATOR_RATE_LIMIT=abc would make every answer a 429).
 */
export function emulatorSettings(
  args: string[],
  env: Env,
): EmulatorSettings | { help: true } | { error: string } {
  let portArg: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (arg === '--port' && index + 1 < args.length) portArg = args[++index];
    else if (arg.startsWith('--port=')) portArg = arg.slice('--port='.length);
    else
      return {
        error: `unknown argument ${JSON.stringify(arg)}: the emulator takes --port N and --help; its other settings are EMULATOR_* variables (--help lists them)`,
      };
  }
  const whole = (label: string, text: string, min: number, max: number, what: string) => {
    const value = Number(text);
    return /^\d+$/.test(text.trim()) && value >= min && value <= max
      ? value
      : `${label}${JSON.stringify(text)}: expected ${what} from ${min} to ${max}`;
  };
  const port =
    portArg === undefined
      ? whole('EMULATOR_PORT=', env.EMULATOR_PORT ?? '8090', 0, 65_535, 'a port number')
      : whole('--port ', portArg, 0, 65_535, 'a port number');
  const latencyMs = whole('EMULATOR_LATENCY_MS=', env.EMULATOR_LATENCY_MS ?? '0', 0, 60_000, 'milliseconds');
  const rateLimit = whole(
    'EMULATOR_RATE_LIMIT=',
    env.EMULATOR_RATE_LIMIT ?? '7',
    1,
    100_000,
    'requests per second',
  );
  for (const value of [port, latencyMs, rateLimit]) if (typeof value === 'string') return { error: value };
  const stages = env.EMULATOR_SYSTEM_STAGES ?? 'russian';
  if (stages !== 'russian' && stages !== 'english')
    return {
      error: `EMULATOR_SYSTEM_STAGES=${JSON.stringify(stages)}: expected russian or english`,
    };
  return {
    host: env.EMULATOR_HOST ?? '127.0.0.1',
    port: port as number,
    latencyMs: latencyMs as number,
    rateLimit: rateLimit as number,
    systemStages: stages,
  };
}
