/**
 * The one place that builds OpenAI-shaped errors: `{"error":{message,type,param,code}}`.
 * Each code maps to exactly one status and type (spec "Error mapping"). The subscription-limit
 * errors keep the Codex backend's own `type`: Codex CLI stops on `usage_limit_reached` and
 * `usage_not_included` and retries anything else, for hours if the reset is hours away.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'usage_limit_reached'
  | 'usage_not_included'
  | 'insufficient_quota'
  | 'api_error';

const ERROR_TABLE = {
  invalid_api_key: { status: 401, type: 'authentication_error' },
  // Limits a user set on one of their keys (worker/accounts/key-limits.ts). The day limits take
  // the usage-limit type so Codex CLI stops and shows the reset, instead of waiting hours to retry.
  key_expired: { status: 401, type: 'authentication_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  key_request_limit_reached: { status: 429, type: 'usage_limit_reached' },
  key_token_limit_reached: { status: 429, type: 'usage_limit_reached' },
  codex_reauth_required: { status: 401, type: 'authentication_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  invalid_json: { status: 400, type: 'invalid_request_error' },
  unsupported_parameter: { status: 400, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  item_not_found: { status: 404, type: 'invalid_request_error' },
  previous_response_not_found: { status: 400, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  usage_limit_reached: { status: 429, type: 'usage_limit_reached' },
  insufficient_quota: { status: 429, type: 'insufficient_quota' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error' },
  usage_not_included: { status: 429, type: 'usage_not_included' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error' },
  upstream_rejected: { status: 400, type: 'invalid_request_error' },
  upstream_error: { status: 502, type: 'api_error' },
  upstream_timeout: { status: 504, type: 'api_error' },
  token_refresh_unavailable: { status: 503, type: 'api_error' },
  internal_error: { status: 500, type: 'api_error' },
} as const satisfies Record<string, { status: number; type: ErrorType }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** What a usage-limit error adds beside the four OpenAI fields, as the Codex backend names it. */
export interface UsageLimitFields {
  plan_type?: string;
  /** Epoch seconds. */
  resets_at?: number;
  resets_in_seconds?: number;
}

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: ErrorCode } & UsageLimitFields;
}

/**
 * Codes no retry can fix before a reset hours away (or a plan change): the answer carries
 * `x-should-retry: false`, which the OpenAI SDKs obey instead of their 429 retries.
 */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  'usage_limit_reached', 'usage_not_included', 'insufficient_quota', 'key_request_limit_reached', 'key_token_limit_reached',
]);

export interface ApiErrorOptions {
  param?: string | null;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
  /** Internal detail for logs only; never sent to the client and never a secret. */
  detail?: string;
  /** Reset facts sent in the error body (the subscription's usage limit and a key's day limits). */
  limit?: UsageLimitFields;
}

/** An error the client is meant to see. `message` is public; `detail` is for logs. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly detail: string | undefined;
  readonly limit: UsageLimitFields;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.type = ERROR_TABLE[code].type;
    this.param = options.param ?? null;
    this.headers = { ...(NOT_RETRYABLE.has(code) ? { 'x-should-retry': 'false' } : {}), ...options.headers };
    this.detail = options.detail;
    this.limit = options.limit ?? {};
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code, ...this.limit } };
  }

  toResponse(extraHeaders: Record<string, string> = {}): Response {
    return Response.json(this.toBody(), {
      status: this.status,
      headers: { ...extraHeaders, ...this.headers },
    });
  }
}

/** Anything thrown that is not an ApiError becomes a 500 whose message reveals nothing. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('internal_error', 'The server had an unexpected error. Please try again.', {
    detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  });
}

