import { checkSourceKey, DEFAULT_SOURCE_KEY, type SourceScope } from '../sources/source-key.ts';
import type { EnvSource } from './env-source.ts';
import { type Environment, environmentSchema } from './schema.ts';

/**
 * SOURCES names the IDENT databases of a clinic chain; each source's connection comes from
 * SOURCE_<KEY>_DB_* and falls back, variable by variable, to the plain DB_* value — so databases
 * on one server differ by SOURCE_<KEY>_DB_NAME only. Without SOURCES there is one source, `main`,
 * with bare ids: today's configuration, read as before.
 */

/** The connection settings a source may set for itself. */
export const SOURCE_SETTINGS = [
  'DB_HOST',
  'DB_PORT',
  'DB_INSTANCE',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'DB_ENCRYPT',
  'DB_TRUST_SERVER_CERTIFICATE',
] as const;

export type SourceSetting = (typeof SOURCE_SETTINGS)[number];

/** The connection values of one source, parsed as the plain DB_* values are. */
export type DatabaseValues = Pick<Environment, SourceSetting>;

/** A source of the configuration: its key and how its variables are named. */
export interface SourcePlan {
  scope: SourceScope;
  /** The name of this source's own variable for a setting: SOURCE_NORTH_DB_NAME. */
  own(setting: SourceSetting): string;
}

/** KEY upper-cased, `-` → `_`: the variable prefix of a source. */
export const sourcePrefix = (key: string) => `SOURCE_${key.toUpperCase().replace(/-/g, '_')}_`;

/** The variable names that belong to the chain's settings (SOURCE_<KEY>_DB_…), for typo checks and quote checks. */
export const SOURCE_VARIABLE = /^SOURCE_[A-Z0-9_]+_DB_[A-Z_]+$/;

const blank = (value: string | undefined) => value === undefined || value.trim() === '';

/**
 * The sources SOURCES names, or the one `main` source without it; every problem with SOURCES,
 * SOURCE_BARE_IDS or a SOURCE_<KEY>_DB_* name is pushed as one sentence naming the variable.
 */
export function planSources(raw: EnvSource, problems: string[]): { chain: boolean; plans: SourcePlan[] } {
  const listed = raw.SOURCES;
  const bareKey = blank(raw.SOURCE_BARE_IDS) ? undefined : raw.SOURCE_BARE_IDS!.trim();
  const variables = Object.keys(raw).filter((name) => SOURCE_VARIABLE.test(name) && raw[name] !== undefined);
  if (blank(listed)) {
    if (bareKey !== undefined)
      problems.push(
        `SOURCE_BARE_IDS is set but SOURCES is not: name the chain's sources in SOURCES (for example SOURCES=${bareKey},north), or remove SOURCE_BARE_IDS`,
      );
    for (const name of variables)
      problems.push(
        `${name} is set but SOURCES is not: name the chain's sources in SOURCES, or remove ${name} (a single clinic uses the DB_* variables)`,
      );
    return {
      chain: false,
      plans: [{ scope: { key: DEFAULT_SOURCE_KEY, bare: true }, own: (setting) => setting }],
    };
  }
  const keys: string[] = [];
  const prefixes = new Map<string, string>();
  for (const key of listed!
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const wrong = checkSourceKey(key);
    const prefix = sourcePrefix(key);
    const other = prefixes.get(prefix);
    if (wrong) problems.push(`SOURCES: ${wrong}`);
    else if (keys.includes(key)) problems.push(`SOURCES names "${key}" twice; name each source once`);
    else if (other)
      problems.push(
        `SOURCES: the keys "${other}" and "${key}" would both read the variables ${prefix}DB_*; rename one of them`,
      );
    else {
      keys.push(key);
      prefixes.set(prefix, key);
    }
  }
  if (keys.length === 0 && problems.length === 0)
    problems.push(
      `SOURCES="${listed}" names no source: list the clinics' keys (for example SOURCES=center,north), or leave SOURCES out for a single clinic`,
    );
  if (bareKey !== undefined) {
    if (bareKey.includes(','))
      problems.push(
        'SOURCE_BARE_IDS names more than one source; name only the clinic that synced alone before (the ids of the others carry their key)',
      );
    else if (!keys.includes(bareKey))
      problems.push(
        `SOURCE_BARE_IDS="${bareKey}" is not one of SOURCES (${keys.join(', ')}); name the source that synced alone before, or remove SOURCE_BARE_IDS`,
      );
  }
  for (const name of variables) {
    const owner = [...prefixes].find(
      ([prefix]) => name.startsWith(prefix) && isSetting(name.slice(prefix.length)),
    );
    if (owner) continue;
    const known = [...prefixes].find(([prefix]) => name.startsWith(`${prefix}DB_`));
    problems.push(
      known
        ? `${name} is not a setting of a source; the settings are ${SOURCE_SETTINGS.map((setting) => `${known[0]}${setting}`).join(', ')}`
        : `${name} names no source of SOURCES (${keys.join(', ')}): fix the name (SOURCE_<KEY>_DB_…, the key upper-cased, "-" as "_") or add the source to SOURCES`,
    );
  }
  return {
    chain: true,
    plans: keys.map((key) => ({
      scope: { key, bare: key === bareKey },
      own: (setting) => `${sourcePrefix(key)}${setting}`,
    })),
  };
}

const isSetting = (suffix: string): suffix is SourceSetting =>
  (SOURCE_SETTINGS as readonly string[]).includes(suffix);

const sourceSchema = environmentSchema.pick({
  DB_HOST: true,
  DB_PORT: true,
  DB_INSTANCE: true,
  DB_NAME: true,
  DB_USER: true,
  DB_PASSWORD: true,
  DB_ENCRYPT: true,
  DB_TRUST_SERVER_CERTIFICATE: true,
});

/**
 * One source's connection values: its own variable where set, else the plain DB_* one. A wrong
 * value of its own variable is one problem naming that variable (a wrong DB_* value is reported
 * once, by the whole environment's check). `named` says which variable each value came from.
 */
export function sourceValues(
  raw: EnvSource,
  plan: SourcePlan,
  problems: string[],
): { values: DatabaseValues; named: (setting: SourceSetting) => string } | undefined {
  const picked: Record<string, string | undefined> = {};
  const from = new Map<SourceSetting, string>();
  for (const setting of SOURCE_SETTINGS) {
    const own = plan.own(setting);
    // A password may be blank on purpose; any other blank value means "as DB_*".
    const useOwn = setting === 'DB_PASSWORD' ? raw[own] !== undefined : !blank(raw[own]);
    from.set(setting, useOwn ? own : setting);
    picked[setting] = useOwn ? raw[own] : raw[setting];
  }
  const parsed = sourceSchema.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const setting = String(issue.path[0]) as SourceSetting;
      const variable = from.get(setting)!;
      if (variable === setting) continue;
      const shown = setting === 'DB_PASSWORD' ? '' : `=${JSON.stringify(raw[variable])}`;
      problems.push(`${variable}${shown}: ${issue.message}`);
    }
    return undefined;
  }
  return {
    values: parsed.data,
    named: (setting) =>
      from.get(setting) === setting && plan.own(setting) !== setting
        ? `${plan.own(setting)} (or ${setting} for every source)`
        : from.get(setting)!,
  };
}
