/**
 * Every error the relay itself produces, in the OpenAI error shape the Worker already understands.
 * Upstream errors are never rewritten: they pass through with the upstream's own status and body.
 */

/**
 * Set on every error the relay itself produces (never on upstream answers it passes through),
 * so the Worker can tell "the relay refused" from "ChatGPT refused".
 */
export const RELAY_ERROR_HEADER = 'x-relay-error';

export type RelayErrorCode =
  | 'invalid_relay_token'
  | 'too_many_auth_failures'
  | 'route_not_found'
  | 'invalid_request'
  | 'request_too_large'
  | 'relay_overloaded'
  | 'relay_shutting_down'
  | 'relay_unavailable'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'internal_error';

/** `retryAfter` (seconds) tells callers the failure is momentary. */
type ErrorSpec = { status: number; type: string; message: string; retryAfter?: string };

const RELAY_ERRORS: Record<RelayErrorCode, ErrorSpec> = {
  invalid_relay_token: {
    status: 401,
    type: 'authentication_error',
    message: 'Missing or invalid X-Relay-Token.',
  },
  too_many_auth_failures: {
    status: 429,
    type: 'rate_limit_error',
    message: 'Too many requests with an invalid X-Relay-Token; retry later.',
    retryAfter: '60',
  },
  route_not_found: {
    status: 404,
    type: 'invalid_request_error',
    message: 'This relay only forwards the Codex responses, models and usage endpoints and the OAuth token endpoint.',
  },
  invalid_request: { status: 400, type: 'invalid_request_error', message: 'Malformed request.' },
  request_too_large: { status: 413, type: 'invalid_request_error', message: 'Request body is too large.' },
  relay_overloaded: {
    status: 503,
    type: 'api_error',
    message: 'The relay is handling too many requests; retry shortly.',
    retryAfter: '1',
  },
  relay_shutting_down: {
    status: 503,
    type: 'api_error',
    message: 'The relay is shutting down; retry shortly.',
    retryAfter: '1',
  },
  // Produced by the Worker's container class, when the Containers runtime answers instead of the relay.
  relay_unavailable: {
    status: 503,
    type: 'api_error',
    message: 'The relay container is not available right now; retry shortly.',
    retryAfter: '5',
  },
  upstream_unreachable: { status: 502, type: 'api_error', message: 'The upstream service could not be reached.' },
  upstream_timeout: { status: 504, type: 'api_error', message: 'The upstream service did not answer in time.' },
  internal_error: { status: 500, type: 'api_error', message: 'Internal relay error.' },
};

export type RelayErrorBody = {
  error: { message: string; type: string; param: null; code: RelayErrorCode };
};

/** Status, headers and body for one of the relay's own errors; `retryAfterSeconds` overrides the default. */
export function relayError(
  code: RelayErrorCode,
  opts: { retryAfterSeconds?: number } = {},
): {
  status: number;
  headers: Record<string, string>;
  body: RelayErrorBody;
} {
  const spec = RELAY_ERRORS[code];
  const headers: Record<string, string> = { [RELAY_ERROR_HEADER]: code };
  const retryAfter = opts.retryAfterSeconds === undefined ? spec.retryAfter : String(opts.retryAfterSeconds);
  if (retryAfter) headers['retry-after'] = retryAfter;
  return { status: spec.status, headers, body: { error: { message: spec.message, type: spec.type, param: null, code } } };
}
