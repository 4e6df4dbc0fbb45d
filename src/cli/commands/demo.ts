import type { Command } from 'commander';
import { runDemo } from '../../demo/run-demo.ts';
import { ActionableError } from '../../errors.ts';
import { createLogger } from '../../logging/logger.ts';

const wholeNumber = (name: string, text: string, min: number, max: number) => {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max)
    throw new ActionableError(
      `--${name} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`,
      {
        exitCode: 2,
      },
    );
  return value;
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'watch the daemon work, with no account and no database: an amoCRM emulator and a synthetic clinic on this machine',
    )
    .option('--patients <n>', 'synthetic patients in the clinic', '2000')
    .option(
      '--receptions <n>',
      'synthetic receptions made deals (default: two per patient; 0: contacts only)',
    )
    .option('--minutes <n>', 'how long the demo runs', '2')
    .option('--tick <seconds>', 'seconds between incremental runs', '20')
    .option('--state-dir <dir>', 'keep the demo state here (default: a new temporary folder)')
    .option('--port <n>', "the emulator's port on 127.0.0.1 (a busy one is replaced by a free one)", '8090')
    .option(
      '--health-port <n>',
      'the port of /healthz and /metrics (a busy one is replaced by a free one)',
      '9464',
    )
    .option('--keep', 'keep the emulator serving after the demo, until Ctrl-C (the default)')
    .option('--no-keep', 'end with the demo: the emulator stops (for scripts and tests)')
    .action(
      async (options: {
        patients: string;
        receptions?: string;
        minutes: string;
        tick: string;
        stateDir?: string;
        keep?: boolean;
        port: string;
        healthPort: string;
      }) => {
        const patients = wholeNumber('patients', options.patients, 1, 100_000);
        const receptions =
          options.receptions === undefined
            ? patients * 2
            : wholeNumber('receptions', options.receptions, 0, 500_000);
        const minutes = wholeNumber('minutes', options.minutes, 1, 60);
        const tickSeconds = wholeNumber('tick', options.tick, 5, 600);
        // The demo needs no settings: the environment's (and .env's) are not read, but for the log's look.
        const logger = createLogger({
          level: 'info',
          format: process.env.LOG_FORMAT === 'json' ? 'json' : 'auto',
          destination: 'stdout',
          timeZone: 'Europe/Moscow',
        });
        process.exitCode = await runDemo({
          patients,
          receptions,
          minutes,
          tickSeconds,
          emulatorPort: wholeNumber('port', options.port, 0, 65_535),
          healthPort: wholeNumber('health-port', options.healthPort, 0, 65_535),
          stateDir: options.stateDir,
          keep: options.keep ?? true,
          timeZone: 'Europe/Moscow',
          logger,
          out: (line = '') => process.stdout.write(`${line}\n`),
        });
      },
    );
}
