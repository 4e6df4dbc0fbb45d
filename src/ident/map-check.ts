import { relative } from 'node:path';
import { loadMapFile, MapFileError } from '../mapping/load-map.ts';
import type { ContactMap } from '../mapping/schema.ts';
import { outputAliases } from './sql-analysis.ts';
import { loadSqlFiles, SQL_FILE_NAMES, type SqlFiles } from './sql-files.ts';
import { join } from 'node:path';

/**
 * Every `source`, `present` column and `{placeholder}` of the map that is not a column alias of the
 * patient query, named by its entry. Such a field would be empty on every patient, and clear what
 * amoCRM holds of it on every update.
 */
export function unknownSources(map: ContactMap, aliases: readonly string[]): string[] {
  const known = new Set(aliases);
  const problems: string[] = [];
  const check = (where: string, alias: string) => {
    if (!known.has(alias)) problems.push(`${where}: "${alias}" is not a column of the patient query`);
  };
  const placeholders = (text: string) =>
    [...text.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!);
  for (const alias of placeholders(map.contact.name.template)) check('contact.name.template', alias);
  for (const alias of placeholders(map.contact.name.fallback)) check('contact.name.fallback', alias);
  if (map.contact.first_name) check('contact.first_name.source', map.contact.first_name.source);
  if (map.contact.last_name) check('contact.last_name.source', map.contact.last_name.source);
  map.contact.phones.forEach((phone, index) => check(`contact.phones[${index}].source`, phone.source));
  map.contact.emails.forEach((email, index) => check(`contact.emails[${index}].source`, email.source));
  map.fields.forEach((field, index) => {
    check(`fields[${index}] (${field.name}) source`, field.source);
    field.when?.forEach((rule, ruleIndex) =>
      check(`fields[${index}] (${field.name}) when[${ruleIndex}].present`, rule.present),
    );
  });
  return problems;
}

/**
 * The SQL files and the map, each checked on its own (read-only SQL; a valid map) and against each
 * other, before anything connects: a problem stops every command with exit code 2, naming it.
 */
export function loadMapAndSql(config: { mappingFile: string; sqlDir: string }): {
  map: ContactMap;
  files: SqlFiles;
} {
  const files = loadSqlFiles(config.sqlDir);
  const map = loadMapFile(config.mappingFile);
  const problems = unknownSources(map, outputAliases(files.patients));
  if (problems.length > 0) {
    const sqlFile =
      relative(process.cwd(), join(files.dir, SQL_FILE_NAMES.patients)) || SQL_FILE_NAMES.patients;
    throw new MapFileError(
      relative(process.cwd(), config.mappingFile) || config.mappingFile,
      problems.map((problem) => `${problem} (${sqlFile}); add the column to the query or fix the map`),
    );
  }
  return { map, files };
}
