import { type Config, loadConfig, type Requirement } from '../config/config.ts';
import { readEnvironment } from '../config/env-source.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { registerSecret } from '../logging/redact.ts';

export interface CommandContext {
  config: Config;
  logger: Logger;
}

/**
 * Configuration for one command, validated for what that command needs, and a logger. Commands
 * that answer on stdout log to stderr; the daemon logs to stdout.
 */
export function commandContext(
  requirements: readonly Requirement[],
  logTo: 'stdout' | 'stderr' = 'stderr',
): CommandContext {
  const config = loadConfig(readEnvironment(), requirements);
  registerSecret(config.database?.password);
  registerSecret(config.amocrm.clientSecret);
  registerSecret(config.amocrm.longLivedToken);
  const logger = createLogger({ level: config.log.level, format: config.log.format, destination: logTo });
  for (const notice of config.notices) logger.info(notice);
  return { config, logger };
}
