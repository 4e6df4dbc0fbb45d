import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config.ts';
import { registerAlert } from './commands/alert.ts';
import { registerAuth } from './commands/auth.ts';
import { registerDaemon } from './commands/daemon.ts';
import { registerDemo } from './commands/demo.ts';
import { registerFields } from './commands/fields.ts';
import { registerStatus } from './commands/status.ts';
import { registerSync } from './commands/sync.ts';
import { registerTestDb } from './commands/test-db.ts';
import { registerTestPatient } from './commands/test-patient.ts';
import { ActionableError } from '../errors.ts';
import { maskSecrets } from '../logging/redact.ts';
import { packageRoot } from '../support/package-root.ts';
import { MapFileError } from '../mapping/load-map.ts';

const packageJson = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command('ident-sync')
    .description("Keeps a dental clinic's amoCRM contacts in step with the patients of its IDENT database.")
    .version(packageJson.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run ident-sync --help for the commands)')
    .exitOverride();
  registerDaemon(program);
  registerSync(program);
  registerTestDb(program);
  registerTestPatient(program);
  registerAuth(program);
  registerFields(program);
  registerStatus(program);
  registerDemo(program);
  registerAlert(program);
  return program;
}

/** Runs the CLI and returns the exit code; every error a person can act on is one line on stderr. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode;
  if (error instanceof ConfigError || error instanceof MapFileError) {
    for (const problem of error.message.split('\n')) process.stderr.write(`config error: ${problem}\n`);
    return 2;
  }
  if (error instanceof ActionableError) {
    process.stderr.write(`error: ${maskSecrets(error.message)}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`unexpected error: ${maskSecrets(message)}\n`);
  if (process.env.LOG_LEVEL?.toLowerCase() === 'debug' && error instanceof Error && error.stack) {
    process.stderr.write(`${maskSecrets(error.stack)}\n`);
  }
  return 1;
}
