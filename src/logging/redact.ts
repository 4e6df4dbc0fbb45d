/**
 * Removes personal data and secrets from anything about to be logged.
 *
 * Two nets: values under a sensitive key are replaced wherever the key appears (any depth), and
 * every registered secret (tokens, client secret, database password) is masked inside any string,
 * so a token that slips into an error message is still never written.
 */

export const REDACTED = '[redacted]';

const SENSITIVE_KEY =
  /pass(word)?|secret|token|authorization|cookie|^code$|passport|snils|^inn$|phone|mobile|e-?mail|surname|patronymic|first_?name|last_?name|full_?name|^name$|parentsnp|guardian|address|birth|comment|custom_fields_values|^values?$|^query$/i;

const MAX_DEPTH = 8;
const secrets = new Set<string>();

/** Masks this value in every future log line. Short values are ignored: they would mask noise. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

export function forgetSecretsForTests(): void {
  secrets.clear();
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

export function maskSecrets(text: string): string {
  let masked = text;
  for (const secret of secrets) {
    if (masked.includes(secret)) masked = masked.split(secret).join(REDACTED);
  }
  return masked;
}

export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return maskSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  if (value instanceof Date) return value;
  if (value instanceof Error) return describeError(value);
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      isSensitiveKey(key) && inner !== null && inner !== undefined
        ? REDACTED
        : redact(inner, depth + 1, seen);
  }
  return out;
}

/**
 * Errors are reduced to what helps and cannot leak: their class, message, code and HTTP status.
 * Request bodies, headers and configs of HTTP errors (patient payloads, bearer tokens) never reach
 * the log.
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: maskSecrets(String(error)) };
  const withDetails = error as Error & { code?: unknown; status?: unknown; kind?: unknown };
  const out: Record<string, unknown> = { type: error.name, message: maskSecrets(error.message) };
  if (typeof withDetails.code === 'string' || typeof withDetails.code === 'number')
    out.code = withDetails.code;
  if (typeof withDetails.status === 'number') out.status = withDetails.status;
  if (typeof withDetails.kind === 'string') out.kind = withDetails.kind;
  return out;
}
