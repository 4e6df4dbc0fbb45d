import pkg from 'node-sql-parser/build/transactsql.js';
import { codeOnly, codeWords, neutralised, tokenizeSql, withoutComments } from './sql-tokens.ts';
import { TSQL_RESERVED } from './tsql-reserved.ts';

const { Parser } = pkg;
const parser = new Parser();
const DIALECT = { database: 'TransactSQL' } as const;

/** Comments blanked out (line breaks kept, so line numbers hold); literals and identifiers left alone. */
export const stripComments = withoutComments;

/**
 * node-sql-parser reads T-SQL well but not `TOP (@variable)` nor the `FOR XML PATH(''), TYPE).value(…)`
 * of SQL Server 2012's string aggregation; stand-ins replace them while parsing (the text sent to
 * SQL Server is unchanged).
 */
const parseable = (sql: string) => standIns(stripComments(sql));

const standIns = (sql: string) =>
  sql
    .replace(/\bTOP\s*\(\s*@\w+\s*\)/gi, 'TOP (1)')
    .replace(
      /\bFOR\s+XML\s+PATH\s*\(\s*N?'[^']*'\s*\)\s*,\s*TYPE\s*\)\s*\.\s*value\s*\(\s*'[^']*'\s*,\s*'[^']*'\s*\)/gi,
      "FOR XML PATH(''))",
    )
    .replace(/^[\s;]*/, '')
    .replace(/[\s;]*$/, '');

export function parseTsql(sql: string): void {
  parser.astify(parseable(sql), DIALECT);
}

const WRITES = 'the IDENT database is read-only for ident-sync: no writes, no procedures, no objects';

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
      /\b(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|EXEC|EXECUTE|GRANT|REVOKE|DENY|BACKUP|RESTORE|SHUTDOWN|KILL|DBCC|BULK|WRITETEXT|UPDATETEXT|RECONFIGURE|WAITFOR|OPENROWSET|OPENQUERY|OPENDATASOURCE|INTO|xp_\w+|sp_\w+)\b|\bNEXT\s+VALUE\s+FOR\b/i,
    why: WRITES,
  },
];

/**
 * The reserved keywords a read-only SELECT uses (those of the shipped sql/*.sql and the rest of
 * the SELECT grammar SQL Server 2012 knows; VALUES is the row constructor of `FROM (VALUES …)`,
 * no statement starts with it). Any other reserved keyword in the code is refused:
 * the server never reads one as an alias, so it starts a command (`SELECT … 1SHUTDOWN`).
 */
const READ_ONLY_KEYWORDS: ReadonlySet<string> = new Set(
  `SELECT FROM WHERE JOIN INNER LEFT RIGHT FULL OUTER CROSS ON AND OR NOT IN EXISTS BETWEEN LIKE
  ESCAPE IS NULL CASE WHEN THEN ELSE END AS DISTINCT TOP PERCENT ORDER BY ASC DESC GROUP HAVING
  UNION ALL EXCEPT INTERSECT WITH OVER COLLATE CONVERT TRY_CONVERT COALESCE NULLIF
  CURRENT_TIMESTAMP ANY SOME FOR VALUES`.split(/\s+/),
);

/** Reserved keywords outside the read-only SELECT grammar, and numbers glued to a word. */
function keywordProblems(sql: string): SqlProblem[] {
  const { words, gluedNumbers } = codeWords(sql);
  const problems: SqlProblem[] = gluedNumbers.map((start) => ({
    line: lineAt(sql, start),
    message:
      'a number runs straight into a word (as in 1SHUTDOWN), which SQL Server reads as two tokens; put a space or AS between them',
  }));
  words.forEach((word, index) => {
    const upper = word.text.replace(/^\$+/, '').toUpperCase();
    if (!TSQL_RESERVED.has(upper)) return;
    // FOR only opens FOR XML PATH (string aggregation); FOR UPDATE, FOR BROWSE … are not reads.
    const allowed =
      READ_ONLY_KEYWORDS.has(upper) && (upper !== 'FOR' || words[index + 1]?.text.toUpperCase() === 'XML');
    if (!allowed)
      problems.push({
        line: lineAt(sql, word.start),
        message: `${upper} is a T-SQL reserved keyword a read-only SELECT does not use, so SQL Server would run it as a command; remove it (a name spelled so goes in [brackets])`,
      });
  });
  return problems;
}

export interface SqlProblem {
  /** 1-based line of the file, where known. */
  line?: number;
  message: string;
}

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

type Statement = { type?: string };

/** The statements as the parser reads a text made parseable. */
function parseStatements(text: string): Statement[] | SqlProblem {
  try {
    const ast = parser.astify(text, DIALECT) as unknown;
    return (Array.isArray(ast) ? ast : [ast]) as Statement[];
  } catch (error) {
    const located = (error as { location?: { start?: { line?: number } } }).location?.start?.line;
    return {
      ...(located ? { line: located } : {}),
      message: `does not parse as T-SQL: ${(error as Error).message.split('\n')[0]!.slice(0, 160)}`,
    };
  }
}

/**
 * What makes a text unsafe to send to IDENT: text whose comments and literals cannot be told
 * apart for certain, a write or a procedure anywhere in the code (literals, identifiers and
 * comments aside), a second statement, or anything but one SELECT.
 */
function safetyProblems(sql: string, rules: readonly { pattern: RegExp; why: string }[]): SqlProblem[] {
  const { problems: tokenProblems } = tokenizeSql(sql);
  const problems: SqlProblem[] = tokenProblems.map((problem) => ({
    line: lineAt(sql, problem.start),
    message: problem.message,
  }));
  const code = codeOnly(sql);
  // T-SQL has no backslash escapes; other readers take `\'` for a quote inside the literal.
  const backslash = withoutComments(sql).search(/\\['"]/);
  if (backslash >= 0)
    problems.push({
      line: lineAt(sql, backslash),
      message:
        'a backslash right before a quote reads differently to SQL Server and to other tools (write CHAR(92) for a backslash)',
    });
  // Allowed, not blocked: the code must start as a query does.
  const opening = /^[\s;]*(\w*)/.exec(code)![1]!;
  if (!/^(SELECT|WITH)$/i.test(opening))
    problems.push({
      line: lineAt(code, code.search(/\S|$/)),
      message: `starts with ${opening ? opening.toUpperCase() : 'no keyword'}; the IDENT database is read-only for ident-sync, only a SELECT (or WITH … SELECT) is allowed`,
    });
  for (const rule of rules) {
    const match = rule.pattern.exec(code);
    if (match) problems.push({ line: lineAt(code, match.index), message: rule.why });
  }
  problems.push(...keywordProblems(sql));
  // A semicolon may open (`;WITH`) or end the statement, nothing between.
  const first = code.search(/[^\s;]/);
  const last = code.search(/[\s;]*$/);
  const semicolon = first < 0 ? -1 : code.slice(first, last).indexOf(';');
  if (semicolon >= 0)
    problems.push({
      line: lineAt(code, first + semicolon),
      message: 'a semicolon ends the statement before the end of the file; one SELECT is allowed',
    });
  if (problems.length > 0) return problems;
  // Judged on the text our split yields (see `neutralised`), not on the parser's own reading.
  const statements = parseStatements(standIns(neutralised(sql)));
  if (!Array.isArray(statements)) return [statements];
  if (statements.length !== 1)
    return [{ message: `holds ${statements.length} statements; one SELECT is allowed` }];
  if (statements[0]!.type !== 'select')
    return [
      {
        message: `is a ${String(statements[0]!.type).toUpperCase()} statement; only SELECT is allowed`,
      },
    ];
  return [];
}

/** Why this text must not be sent to the IDENT database (empty: one SELECT that writes nothing). */
export function readOnlyProblems(sql: string): SqlProblem[] {
  return safetyProblems(sql, [FORBIDDEN.at(-1)!]);
}

/**
 * Problems of one SQL file the daemon runs: another dialect, a write, more than one statement,
 * anything but a SELECT, a parse error, or a column not qualified with its table where several
 * tables are read (the schema check could not tell whose it is).
 */
export function lintDaemonSql(sql: string): SqlProblem[] {
  const problems = safetyProblems(sql, FORBIDDEN);
  if (problems.length > 0) return problems;
  // The columns and aliases are read from the text as written: it must parse too.
  const asWritten = parseStatements(parseable(sql));
  if (!Array.isArray(asWritten)) return [asWritten];
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
