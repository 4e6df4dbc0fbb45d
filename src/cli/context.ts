import { type Config, loadConfig, type Requirement } from '../config/config.ts';
import { readEnvironment } from '../config/env-source.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { registerSecret } from '../logging/redact.ts';
import { ensureStateDir } from '../support/state-dir.ts';

export interface CommandContext {
  config: Config;
  logger: Logger;
}

export interface ContextOptions {
  /** Commands that answer on stdout log to stderr; the daemon and `sync` log to stdout. */
  logTo?: 'stdout' | 'stderr';
  /** The command keeps tokens or state in STATE_DIR: the folder is checked (owner, permissions) first. */
  writesState?: boolean;
}

/** Configuration for one command, validated for what that command needs, and a logger. */
export function commandContext(
  requirements: readonly Requirement[],
  options: ContextOptions = {},
): CommandContext {
  const environment = readEnvironment();
  const config = loadConfig(environment.source, requirements);
  registerSecret(config.database?.password);
  for (const source of config.sources) registerSecret(source.database.password);
  registerSecret(config.amocrm.clientSecret);
  registerSecret(config.amocrm.longLivedToken);
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    destination: options.logTo ?? 'stderr',
    timeZone: config.sync.timeZone,
  });
  for (const warning of environment.warnings) logger.warn(warning);
  for (const notice of config.notices) logger.info(notice);
  if (options.writesState) ensureStateDir(config.stateDir);
  return { config, logger };
}
