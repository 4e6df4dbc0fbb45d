import { ActionableError } from '../errors.ts';

/**
 * What can go wrong talking to amoCRM, by what the caller should do about it:
 * - blocked / auth: stop everything and tell a person (never retried);
 * - uncertain: a create may have landed; look it up before creating again;
 * - payment: the account's subscription does not allow API calls (402); the next run tries again;
 * - rejected: amoCRM refused this request (4xx); retrying the same request will not help;
 * - unavailable: amoCRM did not answer usefully after retries; the next run tries again.
 */
export type AmoErrorKind = 'blocked' | 'auth' | 'uncertain' | 'payment' | 'rejected' | 'unavailable';

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
    `amoCRM blocked this integration or IP (HTTP ${status}); contact amoCRM support — no further requests are sent until the program is restarted`,
    { status },
  );

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
