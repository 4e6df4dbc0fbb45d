import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './errors.ts';

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
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const values: Record<string, string> = {};
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      warnings.push(`${shownName} line ${index + 1} is not KEY=value and is ignored; fix or remove it`);
      continue;
    }
    const key = match[1]!;
    let rest = match[2]!;
    if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      values[key] = end < 0 ? rest.slice(1) : rest.slice(1, end);
      continue;
    }
    if (rest.startsWith('"')) {
      // A double-quoted value may run over several lines, up to its closing quote.
      let body = rest.slice(1);
      while (!/(^|[^\\])(\\\\)*"/.test(body) && index + 1 < lines.length) body += `\n${lines[++index]}`;
      const end = closingQuote(body);
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
  return { values, warnings };
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
  const path = resolve(envFile);
  if (!existsSync(path)) return { source: { ...processEnv }, warnings: [] };
  const file = parseEnvFile(readFileSync(path), envFile);
  return { source: { ...file.values, ...processEnv }, warnings: file.warnings };
}
