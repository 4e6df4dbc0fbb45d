import pkg from 'node-sql-parser/build/transactsql.js';

const { Parser } = pkg;
const parser = new Parser();
const DIALECT = { database: 'TransactSQL' } as const;

/**
 * node-sql-parser reads T-SQL well but not `TOP (@variable)`; a literal stands in for the
 * variable while parsing (the text sent to SQL Server is unchanged).
 */
const parseable = (sql: string) =>
  sql
    .replace(/\bTOP\s*\(\s*@\w+\s*\)/gi, 'TOP (1)')
    .trim()
    .replace(/;\s*$/, '');

export function parseTsql(sql: string): void {
  parser.astify(parseable(sql), DIALECT);
}

/** Syntax of other SQL dialects and of SQL Server versions after 2012, and anything that writes. */
const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: /\bLIMIT\s+\d/i, why: 'LIMIT is not T-SQL (use TOP)' },
  { pattern: /\bSTRING_AGG\s*\(/i, why: 'STRING_AGG needs SQL Server 2017' },
  { pattern: /\bSTRING_SPLIT\s*\(/i, why: 'STRING_SPLIT needs SQL Server 2016' },
  { pattern: /\bCONCAT_WS\s*\(/i, why: 'CONCAT_WS needs SQL Server 2017' },
  { pattern: /(?<![LR])\bTRIM\s*\(/i, why: 'TRIM needs SQL Server 2017 (use LTRIM(RTRIM()))' },
  { pattern: /\bTRANSLATE\s*\(/i, why: 'TRANSLATE needs SQL Server 2017' },
  { pattern: /\b(GREATEST|LEAST)\s*\(/i, why: 'GREATEST/LEAST need SQL Server 2022' },
  {
    pattern: /\bDATE_TRUNC\s*\(|\bNOW\s*\(\s*\)|\bIFNULL\s*\(|\bILIKE\b/i,
    why: 'not T-SQL (PostgreSQL/MySQL syntax)',
  },
  { pattern: /`/, why: 'backquotes are MySQL quoting (use [brackets])' },
  { pattern: /::\s*[a-z]/i, why: ':: casts are PostgreSQL (use CAST)' },
  { pattern: /\|\|/, why: '|| is not string concatenation in T-SQL (use +)' },
  { pattern: /\bRETURNING\b/i, why: 'RETURNING is not T-SQL' },
  {
    pattern:
      /\b(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|EXEC|EXECUTE|GRANT)\b|\bINTO\s+[#@\w[]/i,
    why: 'the IDENT database is read-only for ident-sync: no writes, no objects',
  },
];

const stripComments = (sql: string) => sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');

/** Problems of one SQL file the daemon runs: unparseable, another dialect, or a write. */
export function lintDaemonSql(sql: string): string[] {
  const problems: string[] = [];
  const code = stripComments(sql).replace(/N?'(?:[^']|'')*'/g, "''");
  for (const rule of FORBIDDEN) if (rule.pattern.test(code)) problems.push(rule.why);
  try {
    parseTsql(sql);
  } catch (error) {
    problems.push(`does not parse as T-SQL: ${(error as Error).message.split('\n')[0]!.slice(0, 160)}`);
  }
  return problems;
}

/**
 * The tables and columns a query reads, by real table name (aliases resolved): what must exist
 * in the IDENT database. CTE names and derived tables are not tables.
 */
export function referencedColumns(sql: string): Map<string, Set<string>> {
  const text = parseable(sql);
  const cteNames = new Set(
    [...text.matchAll(/(?:\bWITH|,)\s*(\w+)\s+AS\s*\(/gi)].map((match) => match[1]!.toLowerCase()),
  );
  const tables = new Map<string, string>();
  for (const entry of parser.tableList(text, DIALECT)) {
    const name = entry.split('::')[2]!;
    if (!cteNames.has(name.toLowerCase())) tables.set(name.toLowerCase(), name);
  }
  const result = new Map<string, Set<string>>();
  for (const name of tables.values()) result.set(name, new Set());
  for (const entry of parser.columnList(text, DIALECT)) {
    const [, table, column] = entry.split('::') as [string, string, string];
    const real = tables.get(table.toLowerCase());
    if (!real || column === '(.*)' || column.startsWith('@')) continue;
    result.get(real)!.add(column);
  }
  return result;
}
