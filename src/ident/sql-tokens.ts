/**
 * T-SQL text split the way SQL Server reads it: string literals ('…', '' inside), delimited
 * identifiers ([…] with ]] inside, "…" with "" inside), line comments (-- to the end of the line)
 * and block comments; everything else is code. `--` or `/*` inside a literal or an identifier is
 * text, not a comment — the read-only check judges the code this split yields, so it must agree
 * with the server's.
 */
export type SqlTokenKind = 'code' | 'string' | 'identifier' | 'comment';

export interface SqlToken {
  kind: SqlTokenKind;
  text: string;
  /** Offset of the token's first character in the SQL. */
  start: number;
}

/** Text the split cannot agree on with the server for certain: the check refuses it. */
export interface SqlTokenProblem {
  start: number;
  message: string;
}

export interface SqlTokens {
  tokens: SqlToken[];
  problems: SqlTokenProblem[];
}

const CLOSERS: Record<string, string> = { "'": "'", '[': ']', '"': '"' };

/** Where the delimited token opened at `open` ends (after its closer), or -1 when it never does. */
function closingDelimiter(sql: string, open: number): number {
  const closer = CLOSERS[sql[open]!]!;
  let index = open + 1;
  for (;;) {
    const found = sql.indexOf(closer, index);
    if (found < 0) return -1;
    // A doubled closer is the closer itself inside the token.
    if (sql[found + 1] === closer) index = found + 2;
    else return found + 1;
  }
}

export function tokenizeSql(sql: string): SqlTokens {
  const tokens: SqlToken[] = [];
  const problems: SqlTokenProblem[] = [];
  let code = '';
  let codeStart = 0;
  const push = (kind: Exclude<SqlTokenKind, 'code'>, start: number, end: number) => {
    if (code) tokens.push({ kind: 'code', text: code, start: codeStart });
    tokens.push({ kind, text: sql.slice(start, end), start });
    code = '';
    codeStart = end;
  };
  let index = 0;
  while (index < sql.length) {
    const char = sql[index]!;
    const next = sql[index + 1];
    if (char === "'" || char === '[' || char === '"') {
      const end = closingDelimiter(sql, index);
      if (end < 0) {
        const what = char === "'" ? 'a string literal' : 'a quoted identifier';
        problems.push({ start: index, message: `${what} opened here is never closed` });
        push(char === "'" ? 'string' : 'identifier', index, sql.length);
        return { tokens, problems };
      }
      push(char === "'" ? 'string' : 'identifier', index, end);
      index = end;
    } else if (char === '-' && next === '-') {
      // Ends at a line feed or a carriage return: where the server might end it earlier, more
      // text is judged as code, never less.
      let end = index + 2;
      while (end < sql.length && sql[end] !== '\n' && sql[end] !== '\r') end += 1;
      push('comment', index, end);
      index = end;
    } else if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', index + 2);
      if (end < 0) {
        problems.push({ start: index, message: 'a /* comment opened here is never closed' });
        push('comment', index, sql.length);
        return { tokens, problems };
      }
      // SQL Server nests block comments, other readers do not: a comment inside a comment is
      // refused, so both readings are the same text.
      const nested = sql.indexOf('/*', index + 2);
      if (nested >= 0 && nested < end)
        problems.push({ start: nested, message: 'a /* comment inside a comment is not allowed' });
      push('comment', index, end + 2);
      index = end + 2;
    } else {
      code += char;
      index += 1;
    }
  }
  if (code) tokens.push({ kind: 'code', text: code, start: codeStart });
  return { tokens, problems };
}

const blank = (text: string) => text.replace(/[^\n\r]/g, ' ');

/** The SQL with comments blanked (line breaks kept, so line numbers hold); literals and identifiers as written. */
export function withoutComments(sql: string): string {
  return tokenizeSql(sql)
    .tokens.map((token) => (token.kind === 'comment' ? blank(token.text) : token.text))
    .join('');
}

/**
 * The code alone, for keyword checks: comments blanked, and the inside of every literal and
 * delimited identifier blanked (their delimiters kept, so `INTO[x]` still reads as INTO).
 */
export function codeOnly(sql: string): string {
  return tokenizeSql(sql)
    .tokens.map((token) => {
      if (token.kind === 'code') return token.text;
      if (token.kind === 'comment') return blank(token.text);
      const text = token.text;
      return text.length >= 2 ? `${text[0]}${blank(text.slice(1, -1))}${text.at(-1)}` : blank(text);
    })
    .join('');
}

const filled = (text: string) => text.replace(/[^\n\r]/g, 'x');

/**
 * The SQL as our split reads it, for the parser's verdict (how many statements, which kind):
 * comments blanked, and the inside of every literal and delimited identifier replaced by `x`
 * (line breaks kept). No backslash nor quote is left inside a literal, so a reader that takes
 * `\'` for an escaped quote — node-sql-parser does, SQL Server does not — sees the same
 * statements as the server.
 */
export function neutralised(sql: string): string {
  return tokenizeSql(sql)
    .tokens.map((token) => {
      if (token.kind === 'code') return token.text;
      if (token.kind === 'comment') return blank(token.text);
      const text = token.text;
      return text.length >= 2 ? `${text[0]}${filled(text.slice(1, -1))}${text.at(-1)}` : filled(text);
    })
    .join('');
}

export interface SqlWord {
  /** The word as written (a name or a keyword; `@variables` and `#temp` names included). */
  text: string;
  start: number;
}

export interface SqlWords {
  words: SqlWord[];
  /** Offsets of numbers a letter follows with no space: read as a number then a word by the server. */
  gluedNumbers: number[];
}

const WORD_START = /[\p{L}_@#$]/u;
const WORD_PART = /[\p{L}\p{N}_@#$]/u;
const DIGIT = /[0-9]/;
const HEX = /[0-9a-fA-F]/;

/** Where the number at `index` ends, the way SQL Server's lexer ends it. */
function numberEnd(code: string, index: number): number {
  let end = index;
  if (code[end] === '0' && (code[end + 1] === 'x' || code[end + 1] === 'X')) {
    end += 2;
    while (end < code.length && HEX.test(code[end]!)) end += 1;
    return end;
  }
  while (end < code.length && DIGIT.test(code[end]!)) end += 1;
  if (code[end] === '.') {
    end += 1;
    while (end < code.length && DIGIT.test(code[end]!)) end += 1;
  }
  if (code[end] === 'e' || code[end] === 'E') {
    let exponent = end + 1;
    if (code[exponent] === '+' || code[exponent] === '-') exponent += 1;
    if (DIGIT.test(code[exponent] ?? '')) {
      end = exponent;
      while (end < code.length && DIGIT.test(code[end]!)) end += 1;
    }
  }
  return end;
}

/**
 * The words of the code (literals, delimited identifiers and comments aside), split the way SQL
 * Server's lexer splits them: a number ends where a letter starts (`SELECT 1SHUTDOWN` is the
 * number 1 and the word SHUTDOWN), a `0x` literal at the first character that is not a hex digit.
 */
export function codeWords(sql: string): SqlWords {
  const words: SqlWord[] = [];
  const gluedNumbers: number[] = [];
  for (const token of tokenizeSql(sql).tokens) {
    if (token.kind !== 'code') continue;
    const code = token.text;
    let index = 0;
    while (index < code.length) {
      const char = code[index]!;
      if (DIGIT.test(char) || (char === '.' && DIGIT.test(code[index + 1] ?? ''))) {
        const end = numberEnd(code, index);
        if (end < code.length && WORD_PART.test(code[end]!)) gluedNumbers.push(token.start + index);
        index = end;
      } else if (WORD_START.test(char)) {
        let end = index + 1;
        while (end < code.length && WORD_PART.test(code[end]!)) end += 1;
        words.push({ text: code.slice(index, end), start: token.start + index });
        index = end;
      } else index += 1;
    }
  }
  return { words, gluedNumbers };
}
