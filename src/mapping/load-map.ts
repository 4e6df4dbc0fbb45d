import { relative } from 'node:path';
import { isAlias, isMap, isScalar, LineCounter, Lexer, parseDocument, visit } from 'yaml';
import { BoundedFileError, readBoundedFile } from '../support/bounded-file.ts';
import type { z } from 'zod';
import { type ContactMap, mapSchema } from './schema.ts';

export class MapFileError extends Error {
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[]) {
    super(problems.map((problem) => `${file}: ${problem}`).join('\n'));
    this.name = 'MapFileError';
    this.problems = problems;
  }
}

/** A map is a page of YAML (the shipped ones are a few KB): anything far larger is refused before parsing. */
const MAX_MAP_BYTES = 256 * 1024;
const MAX_FIELDS = 200;

export function loadMapFile(path: string): ContactMap {
  return parseMap(readMapText(path, 'MAPPING_FILE'), shownPath(path));
}

const shownPath = (path: string) => relative(process.cwd(), path) || path;

/** A map file's text; `setting` names the variable that points at it, for the error message. */
export function readMapText(path: string, setting: string): string {
  const shown = shownPath(path);
  let text: string;
  try {
    text = readBoundedFile(path, MAX_MAP_BYTES, '256 KB').toString('utf8');
  } catch (error) {
    if (!(error instanceof BoundedFileError)) throw error;
    const fix = /larger/.test(error.message)
      ? `a map is a page of YAML — point ${setting} at the right file`
      : `set ${setting} to the map's path`;
    throw new MapFileError(shown, [`${error.message}; ${fix}`]);
  }
  return text;
}

/** Nesting a map never needs; deeper YAML is refused before it is parsed (the parser's memory grows with it). */
const MAX_NESTING = 32;

/**
 * How deep the YAML nests, as far as it is read: flow brackets open, plus, on each line, its
 * indentation and the block indicators (`- - - x` nests three deep on one line). An upper bound
 * of the real depth, read by the YAML lexer (quotes and comments are its), stopping past `limit`.
 */
export function yamlNesting(text: string, limit = MAX_NESTING): number {
  let flow = 0;
  let line = 0;
  let deepest = 0;
  let atLineStart = true;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') flow += 1;
    else if (token === ']' || token === '}') flow = Math.max(0, flow - 1);
    else if (token === '\n' || token === '\r\n') {
      line = 0;
      atLineStart = true;
      continue;
    } else if (atLineStart && /^ +$/.test(token)) line += token.length;
    else if (flow === 0 && (token === '-' || token === '?' || token === ':')) line += 1;
    if (!/^[ \t]*$/.test(token)) atLineStart = false;
    deepest = Math.max(deepest, flow + line);
    if (deepest > limit) break;
  }
  return deepest;
}

/**
 * Pieces of YAML a map never needs more of (the shipped maps hold a few hundred): the parser
 * keeps every one in memory many times over, so a flat `[0,0,…]` well under the byte cap would
 * fill a container's heap. Counted by the YAML lexer before parsing, like the nesting.
 */
const MAX_TOKENS = 20_000;

/** How many values and signs (`:`, `-`, `[`, `,`…) the YAML holds, stopping past `limit`. */
export function yamlTokenCount(text: string, limit = MAX_TOKENS): number {
  let count = 0;
  for (const token of new Lexer().lex(text)) {
    // Spaces, line breaks, comments and the lexer's own one-character markers (U+0002, U+001F…).
    const marker = token.length === 1 && token.charCodeAt(0) < 0x20;
    if (marker || /^\s*$/.test(token) || token.startsWith('#')) continue;
    count += 1;
    if (count > limit) break;
  }
  return count;
}

/**
 * A key written twice in one mapping, checked in one pass (the parser's own `uniqueKeys` check
 * compares every pair, minutes for a large file): scalar keys compared by type and value.
 */
function duplicateKey(document: ReturnType<typeof parseDocument>, lines: LineCounter): string | undefined {
  let found: string | undefined;
  visit(document, {
    Map(_, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const value = pair.key.value;
        const id = `${typeof value}:${String(value)}`;
        if (seen.has(id)) {
          const line = pair.key.range ? ` (line ${lines.linePos(pair.key.range[0]).line})` : '';
          found = `YAML syntax: map keys must be unique, and "${String(value)}" appears twice${line}; keep one`;
          return visit.BREAK;
        }
        seen.add(id);
      }
      return undefined;
    },
  });
  return found;
}

/**
 * The line of the first alias (`*name`) in the document. Maps use none; an alias repeats a node
 * wherever it is named, so a small file could expand into a large document and every schema
 * problem of the anchored node would be reported once per alias (attack a8: 470 000 issues).
 */
function firstAlias(document: ReturnType<typeof parseDocument>, lines: LineCounter): number | undefined {
  let line: number | undefined;
  visit(document, {
    Alias(_, node) {
      if (!isAlias(node)) return undefined;
      line = node.range ? lines.linePos(node.range[0]).line : 0;
      return visit.BREAK;
    },
  });
  return line;
}

/** Schema problems shown at most; the rest are counted (a broken map yields one per entry). */
const MAX_SHOWN_ISSUES = 20;

export function parseMap(text: string, shownName = 'map'): ContactMap {
  return parseYamlMap(text, shownName, mapSchema);
}

/** YAML checked against a map schema: every problem is one line naming the entry. */
export function parseYamlMap<T>(text: string, shownName: string, schema: z.ZodType<T>): T {
  if (yamlNesting(text) > MAX_NESTING)
    throw new MapFileError(shownName, [
      `nests deeper than ${MAX_NESTING} levels, which no map needs; restore the file from the release or fix its brackets and indentation`,
    ]);
  if (yamlTokenCount(text) > MAX_TOKENS)
    throw new MapFileError(shownName, [
      `holds more than ${MAX_TOKENS} YAML values and signs, which no map needs; restore the file from the release`,
    ]);
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  if (document.errors.length > 0) {
    throw new MapFileError(
      shownName,
      document.errors.map((error) => `YAML syntax: ${error.message.split('\n')[0]}`),
    );
  }
  const duplicate = duplicateKey(document, lines);
  if (duplicate) throw new MapFileError(shownName, [duplicate]);
  const alias = firstAlias(document, lines);
  if (alias !== undefined)
    throw new MapFileError(shownName, [
      `YAML refused: an alias (*name)${alias ? ` on line ${alias}` : ''}, which a map never needs; write the value out in full`,
    ]);
  const raw: unknown = document.toJS({ maxAliasCount: 0 });
  const fields = (raw as { fields?: unknown } | null)?.fields;
  if (Array.isArray(fields) && fields.length > MAX_FIELDS)
    throw new MapFileError(shownName, [`lists ${fields.length} fields; at most ${MAX_FIELDS} are accepted`]);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const shown = issues.slice(0, MAX_SHOWN_ISSUES).map((issue) => describeIssue(issue, raw));
    if (issues.length > MAX_SHOWN_ISSUES)
      shown.push(`…and ${issues.length - MAX_SHOWN_ISSUES} more problems like these`);
    throw new MapFileError(shownName, shown);
  }
  return parsed.data;
}

/** "fields[2] (Пол) choices: …" — the entry is named by its amoCRM name where there is one. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path;
  let where = '';
  let node: unknown = raw;
  for (const [index, part] of path.entries()) {
    where += typeof part === 'number' ? `[${part}]` : `${where ? '.' : ''}${String(part)}`;
    node =
      node && typeof node === 'object'
        ? (node as Record<PropertyKey, unknown>)[part as PropertyKey]
        : undefined;
    if (index === 1 && path[0] === 'fields' && node && typeof node === 'object') {
      const name = (node as { name?: unknown }).name;
      if (typeof name === 'string') where += ` (${name})`;
    }
  }
  return `${where || 'top level'}: ${issue.message}`;
}
