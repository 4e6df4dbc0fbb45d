import pkg from 'node-sql-parser/build/transactsql.js';

const { Parser } = pkg;
const parser = new Parser();
const DIALECT = { database: 'TransactSQL' } as const;

/** Comments blanked out (newlines kept, so line numbers hold), string literals left alone. */
export function stripComments(sql: string): string {
  let out = '';
  let index = 0;
  while (index < sql.length) {
    const char = sql[index]!;
    const next = sql[index + 1];
    if (char === "'") {
      const end = closingQuote(sql, index);
      out += sql.slice(index, end);
      index = end;
    } else if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', index);
      index = end < 0 ? sql.length : end;
    } else if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', index + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(index, stop).replace(/[^\n]/g, ' ');
      index = stop;
    } else {
      out += char;
      index += 1;
    }
  }
  return out;
}

function closingQuote(sql: string, open: number): number {
  let index = open + 1;
  while (index < sql.length) {
    if (sql[index] === "'") {
      if (sql[index + 1] === "'") index += 2;
      else return index + 1;
    } else index += 1;
  }
  return sql.length;
}

/**
 * node-sql-parser reads T-SQL well but not `TOP (@variable)` nor the `FOR XML PATH(''), TYPE).value(…)`
 * of SQL Server 2012's string aggregation; stand-ins replace them while parsing (the text sent to
 * SQL Server is unchanged).
 */
const parseable = (sql: string) =>
  stripComments(sql)
    .replace(/\bTOP\s*\(\s*@\w+\s*\)/gi, 'TOP (1)')
    .replace(
      /\bFOR\s+XML\s+PATH\s*\(\s*N?'[^']*'\s*\)\s*,\s*TYPE\s*\)\s*\.\s*value\s*\(\s*'[^']*'\s*,\s*'[^']*'\s*\)/gi,
      "FOR XML PATH(''))",
    )
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
      /\b(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|EXEC|EXECUTE|GRANT|REVOKE|DENY|BACKUP|RESTORE|SHUTDOWN|KILL|DBCC|OPENROWSET|OPENQUERY|OPENDATASOURCE|xp_\w+|sp_\w+)\b|\bINTO\s+[#@\w[]/i,
    why: 'the IDENT database is read-only for ident-sync: no writes, no procedures, no objects',
  },
];

export interface SqlProblem {
  /** 1-based line of the file, where known. */
  line?: number;
  message: string;
}

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

/**
 * Problems of one SQL file the daemon runs: another dialect, a write, more than one statement,
 * anything but a SELECT, a parse error, or a column not qualified with its table where several
 * tables are read (the schema check could not tell whose it is).
 */
export function lintDaemonSql(sql: string): SqlProblem[] {
  const problems: SqlProblem[] = [];
  const code = stripComments(sql).replace(/N?'(?:[^']|'')*'/g, (literal) => literal.replace(/[^\n]/g, ' '));
  for (const rule of FORBIDDEN) {
    const match = rule.pattern.exec(code);
    if (match) problems.push({ line: lineAt(code, match.index), message: rule.why });
  }
  let statements: { type?: string }[];
  try {
    const ast = parser.astify(parseable(sql), DIALECT) as unknown;
    statements = (Array.isArray(ast) ? ast : [ast]) as { type?: string }[];
  } catch (error) {
    const located = (error as { location?: { start?: { line?: number } } }).location?.start?.line;
    problems.push({
      ...(located ? { line: located } : {}),
      message: `does not parse as T-SQL: ${(error as Error).message.split('\n')[0]!.slice(0, 160)}`,
    });
    return problems;
  }
  if (statements.length !== 1)
    problems.push({ message: `holds ${statements.length} statements; one SELECT is allowed` });
  else if (statements[0]!.type !== 'select')
    problems.push({
      message: `is a ${String(statements[0]!.type).toUpperCase()} statement; only SELECT is allowed`,
    });
  for (const column of unqualifiedColumns(sql))
    problems.push({
      message: `column ${column} is not qualified with its table alias (write alias.${column})`,
    });
  return problems;
}

/** Names of the CTEs a query defines (`WITH name [(columns)] AS (`): not tables of the database. */
const cteNames = (text: string) =>
  new Set(
    [...text.matchAll(/(?:\bWITH|,)\s*(\w+)\s*(?:\([^)]*\))?\s+AS\s*\(/gi)].map((match) =>
      match[1]!.toLowerCase(),
    ),
  );

function tablesOf(text: string): Map<string, string> {
  const ctes = cteNames(text);
  const tables = new Map<string, string>();
  for (const entry of parser.tableList(text, DIALECT)) {
    const name = entry.split('::')[2]!;
    if (!ctes.has(name.toLowerCase())) tables.set(name.toLowerCase(), name);
  }
  return tables;
}

/** Names given in column lists: `WITH name (a, b) AS (` and `) AS alias (a, b)` — not columns read. */
const listedNames = (text: string) =>
  new Set(
    [
      ...text.matchAll(/(?:\bWITH|,)\s*\w+\s*\(([^)]*)\)\s*AS\s*\(/gi),
      ...text.matchAll(/\)\s*AS\s+\w+\s*\(([^)]*)\)/gi),
    ].flatMap((match) => match[1]!.split(',').map((name) => name.trim().toLowerCase())),
  );

/** DATEADD's and DATEDIFF's first argument: the parser reads it as a column. */
const DATE_PARTS = new Set(
  'year yy yyyy quarter qq q month mm m dayofyear dy y day dd d week wk ww weekday dw hour hh minute mi n second ss s millisecond ms'.split(
    ' ',
  ),
);
const isDatePart = (column: string) => DATE_PARTS.has(column.toLowerCase());

/** Columns named without a table where the query reads more than one table. */
function unqualifiedColumns(sql: string): string[] {
  const text = parseable(sql);
  const listed = listedNames(text);
  const columns = parser
    .columnList(text, DIALECT)
    .map((entry) => entry.split('::') as [string, string, string])
    .filter(
      ([, table, column]) =>
        table === 'null' &&
        !column.startsWith('@') &&
        column !== '(.*)' &&
        !isDatePart(column) &&
        !listed.has(column.toLowerCase()),
    );
  if (columns.length === 0 || tablesOf(text).size <= 1) return [];
  return [...new Set(columns.map(([, , column]) => column))];
}

/**
 * The tables and columns a query reads, by real table name (aliases resolved): what must exist
 * in the IDENT database. CTE names and derived tables are not tables; a column without a table
 * belongs to the one table of a single-table query.
 */
export function referencedColumns(sql: string): Map<string, Set<string>> {
  const text = parseable(sql);
  const tables = tablesOf(text);
  const result = new Map<string, Set<string>>();
  for (const name of tables.values()) result.set(name, new Set());
  const only = tables.size === 1 ? [...tables.values()][0] : undefined;
  for (const entry of parser.columnList(text, DIALECT)) {
    const [, table, column] = entry.split('::') as [string, string, string];
    if (column === '(.*)' || column.startsWith('@') || (table === 'null' && isDatePart(column))) continue;
    const real = table === 'null' ? only : tables.get(table.toLowerCase());
    if (!real) continue;
    result.get(real)!.add(column);
  }
  return result;
}

/** The column aliases a query's outermost SELECT produces (what the map may refer to). */
export function outputAliases(sql: string): string[] {
  const ast = parser.astify(parseable(sql), DIALECT) as unknown;
  const statement = (Array.isArray(ast) ? ast[0] : ast) as {
    columns?: { as?: string | null; expr?: { column?: string } }[];
  };
  return (statement.columns ?? []).flatMap((column) => {
    const name = column.as ?? column.expr?.column;
    return typeof name === 'string' ? [name] : [];
  });
}

type AstNode = Record<string, unknown>;

function walk(node: unknown, visit: (node: AstNode) => void): void {
  if (Array.isArray(node)) for (const item of node) walk(item, visit);
  else if (node !== null && typeof node === 'object') {
    visit(node as AstNode);
    for (const value of Object.values(node)) walk(value, visit);
  }
}

/**
 * The table columns each of these output aliases is computed from (table aliases resolved to table
 * names, subqueries included): what `ident-sync test-db` checks the types of.
 */
export function columnsBehind(
  sql: string,
  aliases: readonly string[],
): Map<string, { table: string; column: string }[]> {
  const ast = parser.astify(parseable(sql), DIALECT) as unknown;
  const statement = (Array.isArray(ast) ? ast[0] : ast) as {
    columns?: { as?: string | null; expr?: unknown }[];
  };
  const tableOf = new Map<string, string>();
  walk(ast, (node) => {
    if (typeof node.table === 'string' && 'db' in node && !('column' in node))
      tableOf.set(String(node.as ?? node.table).toLowerCase(), node.table);
  });
  const result = new Map<string, { table: string; column: string }[]>();
  for (const output of statement.columns ?? []) {
    if (!output.as || !aliases.includes(output.as)) continue;
    const found = new Map<string, { table: string; column: string }>();
    walk(output.expr, (node) => {
      if (node.type !== 'column_ref' || typeof node.table !== 'string' || typeof node.column !== 'string')
        return;
      const table = tableOf.get(node.table.toLowerCase());
      if (table) found.set(`${table}.${node.column}`.toLowerCase(), { table, column: node.column });
    });
    result.set(output.as, [...found.values()]);
  }
  return result;
}
