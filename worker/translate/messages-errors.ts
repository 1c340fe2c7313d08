/**
 * The one mapping from our ApiErrors to Anthropic-shaped errors:
 * `{"type":"error","error":{"type":…,"message":…}}`, chosen by status (and, for the 5xx, by
 * code). The status, the message and the headers (`retry-after`, `x-should-retry`) stay what the
 * ApiError says, so a usage limit is a 429 `rate_limit_error` with `retry-after` until its reset.
 * Pure: no I/O.
 */
import { ApiError, type ErrorCode } from '../shared/errors.ts';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
}

/** Failures a retry soon may fix: Anthropic clients retry `overloaded_error` with backoff. */
const OVERLOADED: ReadonlySet<ErrorCode> = new Set(['upstream_timeout', 'token_refresh_unavailable']);

/** The Anthropic error type of an ApiError. */
export function anthropicErrorType(err: ApiError): AnthropicErrorType {
  if (OVERLOADED.has(err.code)) return 'overloaded_error';
  switch (err.status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    default:
      return err.status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export function anthropicErrorBody(err: ApiError): AnthropicErrorBody {
  return { type: 'error', error: { type: anthropicErrorType(err), message: err.message } };
}

export function anthropicErrorResponse(err: ApiError): Response {
  return Response.json(anthropicErrorBody(err), { status: err.status, headers: err.headers });
}

/**
 * The ApiError behind an OpenAI-shaped error answer (one built by `ApiError.toResponse`, e.g. the
 * key check's 401), or null for any other answer. Lets the Anthropic routes re-render errors
 * answered before their own handler ran.
 */
export function apiErrorOf(status: number, headers: Headers, body: unknown): ApiError | null {
  if (typeof body !== 'object' || body === null) return null;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return null;
  let rebuilt: ApiError;
  try {
    rebuilt = new ApiError(code as ErrorCode, message, { headers: Object.fromEntries(passedHeaders(headers)) });
  } catch {
    return null;
  }
  return rebuilt.status === status ? rebuilt : null;
}

function passedHeaders(headers: Headers): [string, string][] {
  return ['retry-after', 'x-should-retry'].flatMap((name) => {
    const value = headers.get(name);
    return value === null ? [] : [[name, value] as [string, string]];
  });
}
