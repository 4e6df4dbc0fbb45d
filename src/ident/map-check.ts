import { relative } from 'node:path';
import { type DealMap, loadDealMapFile } from '../mapping/deal-map.ts';
import { loadMapFile, MapFileError } from '../mapping/load-map.ts';
import type { ContactMap } from '../mapping/schema.ts';
import { loadReceptionSql, RECEPTION_SQL_FILE_NAMES, type ReceptionSqlFiles } from './reception-sql.ts';
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

/** The columns a name template reads: `{Column}` and `{Column:format}`. */
const placeholders = (text: string) =>
  [...text.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]+)?\}/g)].map((match) => match[1]!);

/** As `unknownSources`, for the deal map against the reception query. */
export function unknownDealSources(map: DealMap, aliases: readonly string[]): string[] {
  const known = new Set(aliases);
  const problems: string[] = [];
  const check = (where: string, alias: string) => {
    if (!known.has(alias)) problems.push(`${where}: "${alias}" is not a column of the reception query`);
  };
  for (const alias of placeholders(map.deal.name.template)) check('deal.name.template', alias);
  for (const alias of placeholders(map.deal.name.fallback)) check('deal.name.fallback', alias);
  if (map.deal.price) check('deal.price.source', map.deal.price.source);
  check('pipelines.repeatWhen.present', map.pipelines.repeatWhen.present);
  map.states.forEach((rule, index) => {
    if (rule.when) check(`states[${index}] (${rule.state}) when`, rule.when);
    if (rule.overdue) check(`states[${index}] (${rule.state}) overdue.column`, rule.overdue.column);
  });
  map.fields.forEach((field, index) => {
    check(`fields[${index}] (${field.name}) source`, field.source);
    field.when?.forEach((rule, ruleIndex) =>
      check(`fields[${index}] (${field.name}) when[${ruleIndex}].present`, rule.present),
    );
  });
  return problems;
}

/** The deal map and the reception SQL (SYNC_RECEPTIONS=true), checked as the contact map and its SQL are. */
export function loadDealMapAndSql(config: { dealMappingFile: string; sqlDir: string }): {
  map: DealMap;
  files: ReceptionSqlFiles;
} {
  const files = loadReceptionSql(config.sqlDir);
  const map = loadDealMapFile(config.dealMappingFile);
  const problems = unknownDealSources(map, outputAliases(files.receptions));
  if (problems.length > 0) {
    const sqlFile =
      relative(process.cwd(), join(files.dir, RECEPTION_SQL_FILE_NAMES.receptions)) ||
      RECEPTION_SQL_FILE_NAMES.receptions;
    throw new MapFileError(
      relative(process.cwd(), config.dealMappingFile) || config.dealMappingFile,
      problems.map((problem) => `${problem} (${sqlFile}); add the column to the query or fix the map`),
    );
  }
  return { map, files };
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
