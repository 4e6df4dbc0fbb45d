import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { parseDocument } from 'yaml';
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

/** A map is a page of YAML: anything far larger is a mistake or an attack, and is refused before parsing. */
const MAX_MAP_BYTES = 1_000_000;
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
    if (statSync(path).size > MAX_MAP_BYTES)
      throw new MapFileError(shown, [
        `is larger than 1 MB; a map is a page of YAML — point ${setting} at the right file`,
      ]);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof MapFileError) throw error;
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new MapFileError(shown, [`${reason}; set ${setting} to the map's path`]);
  }
  return text;
}

export function parseMap(text: string, shownName = 'map'): ContactMap {
  return parseYamlMap(text, shownName, mapSchema);
}

/** YAML checked against a map schema: every problem is one line naming the entry. */
export function parseYamlMap<T>(text: string, shownName: string, schema: z.ZodType<T>): T {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new MapFileError(
      shownName,
      document.errors.map((error) => `YAML syntax: ${error.message.split('\n')[0]}`),
    );
  }
  let raw: unknown;
  try {
    // Aliases that expand without end (a "billion laughs") are refused, not followed.
    raw = document.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new MapFileError(shownName, [
      `YAML refused: ${(error as Error).message.split('\n')[0]}; a map needs no aliases`,
    ]);
  }
  const fields = (raw as { fields?: unknown } | null)?.fields;
  if (Array.isArray(fields) && fields.length > MAX_FIELDS)
    throw new MapFileError(shownName, [`lists ${fields.length} fields; at most ${MAX_FIELDS} are accepted`]);
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new MapFileError(
      shownName,
      parsed.error.issues.map((issue) => describeIssue(issue, raw)),
    );
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
