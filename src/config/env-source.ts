import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BoundedFileError, readBoundedFile } from '../support/bounded-file.ts';
import { ConfigError } from './errors.ts';
import { environmentSchema } from './schema.ts';
import { SOURCE_VARIABLE } from './sources.ts';

export type EnvSource = Readonly<Record<string, string | undefined>>;

export interface EnvFile {
  values: Record<string, string>;
  /** Lines docker compose and ident-sync might read differently: one sentence each, with the fix. */
  warnings: string[];
}

/**
 * A `.env` file read the way docker compose reads it (the same file serves both): `KEY=value`,
 * `export` allowed, `#` starts a comment at the start of a line or after whitespace — so
 * `DB_PASSWORD=abc#def` keeps its `#def` — single quotes literal, double quotes with `\n`-style
 * escapes. A UTF-8 byte-order mark is dropped; a UTF-16 file is refused with the fix.
 */
export function parseEnvFile(raw: Buffer, shownName = '.env'): EnvFile {
  if ((raw[0] === 0xff && raw[1] === 0xfe) || (raw[0] === 0xfe && raw[1] === 0xff) || raw.includes(0)) {
    throw new ConfigError([
      `${shownName} is saved as UTF-16; save it as UTF-8 (Notepad: File → Save as → Encoding: UTF-8)`,
    ]);
  }
  let text = decodeUtf8(raw, shownName);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const values: Record<string, string> = {};
  const warnings: string[] = [];
  const bareReturn = /\r(?!\n)/.exec(text);
  if (bareReturn)
    throw new ConfigError([
      `${shownName} line ${text.slice(0, bareReturn.index).split('\n').length} ends with a carriage return alone (old Mac line endings), which docker compose reads differently; save ${shownName} with LF or CRLF line endings`,
    ]);
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    // The s flag: a value may hold U+2028 or U+2029, which `.` alone does not match.
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/s.exec(line);
    if (!match) {
      warnings.push(`${shownName} line ${index + 1} is not KEY=value and is ignored; fix or remove it`);
      continue;
    }
    const key = match[1]!;
    let rest = match[2]!;
    if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw unterminated(shownName, index, key, "'", 'on the same line');
      afterQuote(rest.slice(end + 1), shownName, index, key);
      values[key] = rest.slice(1, end);
      continue;
    }
    if (rest.startsWith('"')) {
      // A double-quoted value may run over several lines, up to its closing quote.
      const opened = index;
      let body = rest.slice(1);
      while (!/(^|[^\\])(\\\\)*"/.test(body) && index + 1 < lines.length) body += `\n${lines[++index]}`;
      const end = closingQuote(body);
      if (end === body.length) throw unterminated(shownName, opened, key, '"', 'where the value ends');
      afterQuote(body.slice(end + 1), shownName, index, key);
      const value = unescape(body.slice(0, end));
      if (value.includes('$')) warnings.push(dollarWarning(key));
      values[key] = value;
      continue;
    }
    const comment = /\s#/.exec(rest);
    if (comment) {
      warnings.push(
        `${key}: the text after " #" is a comment (as docker compose reads it); if it is part of the value, put the whole value in single quotes`,
      );
      rest = rest.slice(0, comment.index);
    }
    const value = rest.trimEnd();
    if (value.includes('$')) warnings.push(dollarWarning(key));
    values[key] = value;
  }
  for (const [key, value] of Object.entries(values))
    if (looksLikeCp1251(value)) warnings.push(cp1251Warning(key, shownName));
  return { values, warnings };
}

/**
 * Windows-1251 text that is also valid UTF-8 decodes without error: "ВЁ" (C2 A8) reads as "¨".
 * A letter В or Г followed by Ё, ё, №, «, », ° … gives a character of U+0080–U+00FF; UTF-8
 * Russian text that holds one (« ») holds Cyrillic letters too.
 */
const looksLikeCp1251 = (value: string) => /[\u0080-\u00ff]/.test(value) && !/[\u0400-\u04ff]/.test(value);

const cp1251Warning = (key: string, shownName: string) =>
  `${key} holds characters (such as ¨ or Ã) that Windows-1251 Russian text becomes when read as UTF-8; if the value has Russian letters, save ${shownName} as UTF-8 (Notepad: File → Save as → Encoding: UTF-8) and type the value again`;

/**
 * Bytes that are not UTF-8 (Notepad's "ANSI", Windows-1251, for a Cyrillic password) would become
 * U+FFFD silently and the value would be wrong: refused, naming the first such line.
 */
function decodeUtf8(raw: Buffer, shownName: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let start = 0;
    let line = 1;
    for (;;) {
      const end = raw.indexOf(0x0a, start);
      try {
        decoder.decode(raw.subarray(start, end < 0 ? raw.length : end));
      } catch {
        break;
      }
      if (end < 0) break;
      start = end + 1;
      line += 1;
    }
    throw new ConfigError([
      `${shownName} line ${line} is not UTF-8 (saved as "ANSI" / Windows-1251?); save ${shownName} as UTF-8 (Notepad: File → Save as → Encoding: UTF-8)`,
    ]);
  }
}

const unterminated = (shownName: string, index: number, key: string, quote: string, where: string) =>
  new ConfigError([
    `${shownName} line ${index + 1}: the value of ${key} opens a ${quote} quote that is never closed; add the closing ${quote} ${where}`,
  ]);

/** After a closing quote only spaces and a ` #` comment may follow: other readers keep or drop the rest. */
function afterQuote(rest: string, shownName: string, index: number, key: string): void {
  if (/^(\s+#.*)?\s*$/s.test(rest)) return;
  throw new ConfigError([
    `${shownName} line ${index + 1}: the value of ${key} goes on after its closing quote; put the whole value inside the quotes`,
  ]);
}

const dollarWarning = (key: string) =>
  `${key} holds a "$" without single quotes: docker compose would replace $NAME in it with a variable; put the value in single quotes so both read it alike`;

function closingQuote(body: string): number {
  for (let index = 0; index < body.length; index++) {
    if (body[index] === '\\') index += 1;
    else if (body[index] === '"') return index;
  }
  return body.length;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };
const unescape = (text: string) => text.replace(/\\(.)/g, (whole, char: string) => ESCAPES[char] ?? whole);

/**
 * The process environment over the values of a `.env` file (when one exists): a variable set in
 * the real environment always wins, as with docker compose's `env_file`.
 */
export function readEnvironment(
  processEnv: NodeJS.ProcessEnv = process.env,
  envFile = processEnv.ENV_FILE ?? '.env',
): { source: EnvSource; warnings: string[] } {
  const quoted = quotedFromEnvFile(processEnv);
  const path = resolve(envFile);
  if (!existsSync(path)) return { source: { ...processEnv }, warnings: quoted };
  let raw: Buffer;
  try {
    raw = readBoundedFile(path, MAX_ENV_BYTES, '1 MB');
  } catch (error) {
    if (!(error instanceof BoundedFileError)) throw error;
    throw new ConfigError([`${envFile} ${error.message}; point ENV_FILE at the .env file`]);
  }
  const file = parseEnvFile(raw, envFile);
  return { source: { ...file.values, ...processEnv }, warnings: [...quoted, ...file.warnings] };
}

/** A .env is a page of settings. */
const MAX_ENV_BYTES = 1_000_000;

const SETTINGS = new Set(Object.keys(environmentSchema.shape));

/**
 * Values of our settings that arrive in the environment wrapped whole in matching quotes.
 * `docker run --env-file` keeps the quotes that docker compose and our own .env reader remove, so
 * `AMOCRM_CLIENT_SECRET='abc'` reaches us as `'abc'`: amoCRM then answers as if the secret or the
 * token were wrong. No id, secret, token, host, URL, path or number of ours can begin and end
 * with a quote (`'abc' # note` too: --env-file keeps the comment as well), so these are refused, not stripped (stripping would hide where they came from).
 * A database password chosen by a person might: there it is a warning.
 */
function quotedFromEnvFile(processEnv: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(processEnv)) {
    if (
      !(SETTINGS.has(key) || SOURCE_VARIABLE.test(key)) ||
      value === undefined ||
      !/^(['"]).*\1(\s+#.*)?$/s.test(value) ||
      value.length < 2
    )
      continue;
    const quote = value[0] === "'" ? 'single' : 'double';
    if (key === 'DB_PASSWORD' || key.endsWith('_DB_PASSWORD'))
      warnings.push(
        `${key} arrives wrapped in ${quote} quotes; if they came from a \`docker run --env-file\` line (which keeps quotes, unlike docker compose and .env), remove them there — if they are part of the password, ignore this`,
      );
    else
      problems.push(
        `${key} arrives wrapped in ${quote} quotes, which \`docker run --env-file\` keeps (unlike docker compose and .env); remove the quotes from that line of the --env-file`,
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return warnings;
}
