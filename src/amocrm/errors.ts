import { ActionableError } from '../errors.ts';

/**
 * What can go wrong talking to amoCRM, by what the caller should do about it:
 * - blocked / auth: stop everything and tell a person (never retried);
 * - forbidden: the user who authorised the integration lacks the rights for this request (403);
 *   other requests go on, this work stops until a person fixes the rights;
 * - uncertain: a create may have landed; look it up before creating again;
 * - payment: the account's subscription does not allow API calls (402); the next run tries again;
 * - rejected: amoCRM refused this request (4xx); retrying the same request will not help;
 * - unavailable: amoCRM did not answer usefully after retries; the next run tries again.
 */
export type AmoErrorKind =
  'blocked' | 'auth' | 'forbidden' | 'uncertain' | 'payment' | 'rejected' | 'unavailable';

export class AmoCrmError extends ActionableError {
  readonly kind: AmoErrorKind;
  readonly status: number | undefined;
  constructor(kind: AmoErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AmoCrmError';
    this.kind = kind;
    this.status = options.status;
  }
}

export const blockedError = (status: number) =>
  new AmoCrmError(
    'blocked',
    `amoCRM blocked this integration or IP (HTTP ${status}) for too many requests; contact amoCRM support — no further requests are sent until the program is restarted`,
    { status },
  );

/**
 * Why amoCRM answered 403. Three causes are known (../shared/reference/amocrm-api.md, "Facts added
 * in the third review"; amoCRM's error reference, biradrags/amo-docs error-codes.md): the block
 * for repeated rate-limit violations (code 403, often an HTML page), an IP not on the account's
 * API whitelist (code 113), and missing rights (codes 202, 244, 288: "нет прав"; pipelines and
 * stages can be created only by an admin). Where amoCRM puts the code in the body is not
 * documented for v4, so it is looked for in the usual places and in the words; a 403 that says
 * nothing recognisable counts as the block, the cause that must stop every request.
 */
export type ForbiddenCause = 'block' | 'ip' | 'rights';

const RIGHTS_CODES = new Set(['202', '244', '288']);
/** Only an admin may do these (pipelines and stages, custom fields): a plain 403 there is rights. */
const ADMIN_ONLY = /\/api\/v4\/(leads\/pipelines|(contacts|leads)\/custom_fields)/;

export function forbiddenCause(body: unknown, method = 'GET', url = ''): ForbiddenCause {
  if (body === undefined || body === null || typeof body !== 'object') {
    const text = typeof body === 'string' ? body : '';
    // An HTML page (nginx "403 Forbidden") is what the rate-limit block looks like.
    if (/\bIP\b/.test(text) && /white ?list|белом?у? списк/i.test(text)) return 'ip';
    return 'block';
  }
  const problem = body as Record<string, unknown>;
  const inner =
    problem.response && typeof problem.response === 'object'
      ? (problem.response as Record<string, unknown>)
      : {};
  const codes = [problem.code, problem.error_code, inner.code, inner.error_code]
    .filter((code) => code !== undefined && code !== null)
    .map(String);
  const words = [problem.title, problem.detail, problem.hint, problem.error, inner.error, inner.detail]
    .filter((part): part is string => typeof part === 'string')
    .join(' ');
  if (codes.includes('113') || /\bIP\b|white ?list|белом?у? списк/i.test(words)) return 'ip';
  if (codes.includes('403') || /заблокирован|blocked/i.test(words)) return 'block';
  if (
    codes.some((code) => RIGHTS_CODES.has(code)) ||
    /(нет|недостаточно) прав|rights|permission/i.test(words)
  )
    return 'rights';
  if (method.toUpperCase() !== 'GET' && ADMIN_ONLY.test(url)) return 'rights';
  return 'block';
}

/** The 403 as one sentence naming the fix; `blocked` (every request stops) unless rights are missing. */
export function forbiddenError(body: unknown, method = 'GET', url = ''): AmoCrmError {
  const cause = forbiddenCause(body, method, url);
  const said = describeProblem(body);
  const where = `${method.toUpperCase()} ${url}`.trim();
  if (cause === 'ip')
    return new AmoCrmError(
      'blocked',
      `amoCRM refuses API requests from this machine's IP address (HTTP 403, code 113: the account's IP whitelist is on); an amoCRM admin must add this IP under Settings → Security or turn the whitelist off — no further requests are sent until the program is restarted`,
      { status: 403 },
    );
  if (cause === 'rights')
    return new AmoCrmError(
      'forbidden',
      `amoCRM refused ${where} (HTTP 403${said ? `: ${said}` : ''}): the amoCRM user who authorised the integration lacks the rights for it (pipelines, stages and fields need an account admin); have an admin do it, or authorise as an admin with \`ident-sync auth\``,
      { status: 403 },
    );
  return blockedError(403);
}

export interface ValidationProblem {
  requestId: string;
  code: string;
  path: string;
  detail: string;
}

/** A 400 with `validation-errors`: which items (by request_id) were refused, where and why. */
export class AmoValidationError extends AmoCrmError {
  readonly problems: readonly ValidationProblem[];
  constructor(problems: readonly ValidationProblem[], status = 400) {
    super(
      'rejected',
      `amoCRM refused ${new Set(problems.map((p) => p.requestId)).size} item(s) of the request`,
      {
        status,
      },
    );
    this.name = 'AmoValidationError';
    this.problems = problems;
  }
}

export function parseValidationErrors(body: unknown): ValidationProblem[] | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const list = (body as Record<string, unknown>)['validation-errors'];
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((entry: { request_id?: unknown; errors?: unknown }) =>
    (Array.isArray(entry.errors) ? entry.errors : [{}]).map((error: Record<string, unknown>) => ({
      requestId: String(entry.request_id ?? ''),
      code: String(error.code ?? ''),
      path: String(error.path ?? ''),
      detail: String(error.detail ?? ''),
    })),
  );
}

/** amoCRM's own words from an error body (problem+json title/detail/hint), without any data. */
export function describeProblem(body: unknown): string {
  if (!body || typeof body !== 'object')
    return typeof body === 'string' && body.length < 200 ? body.trim() : '';
  const problem = body as Record<string, unknown>;
  return [problem.title, problem.detail, problem.hint]
    .filter((part): part is string => typeof part === 'string' && part.trim() !== '')
    .join(': ');
}
