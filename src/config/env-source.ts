import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

export type EnvSource = Readonly<Record<string, string | undefined>>;

/**
 * The process environment over the values of a `.env` file (when one exists): a variable set in
 * the real environment always wins, as with docker compose's `env_file`.
 */
export function readEnvironment(
  processEnv: NodeJS.ProcessEnv = process.env,
  envFile = processEnv.ENV_FILE ?? '.env',
): EnvSource {
  const path = resolve(envFile);
  if (!existsSync(path)) return { ...processEnv };
  const fromFile = parseEnv(readFileSync(path, 'utf8'));
  return { ...fromFile, ...processEnv };
}
