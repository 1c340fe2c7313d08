/**
 * How Codex backend failures become client errors (spec "Error mapping", CODEX-PROTOCOL §5).
 * Two entry points, one per place a failure can show up: a non-2xx HTTP answer, and a failure
 * inside the event stream. Messages carry upstream error text and details (useful, not secret),
 * never tokens and never upstream headers.
 */
import { ApiError } from '../shared/errors.ts';
import { reauthMessage } from '../shared/reconnect.ts';

/** Longest piece of upstream text we quote in a message. */
const MAX_QUOTED_CHARS = 500;
/** Largest error body we read from upstream. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_QUOTED_CHARS ? `${flat.slice(0, MAX_QUOTED_CHARS)}…` : flat;
}

/** What an upstream error body says, whichever of the backend's shapes it uses. */
interface UpstreamFault {
  /** `error.type` / `error.code` / `code` / `type`, first found. */
  code: string | null;
  type: string | null;
  message: string | null;
  /** The FastAPI-style `{"detail": "…"}` of request-validation failures. */
  detail: string | null;
  planType: string | null;
  resetsAt: number | null;
  resetsInSeconds: number | null;
}

function readFault(body: Json | null): UpstreamFault {
  const err = asRecord(body?.error) ?? body ?? {};
  const detail = body ? (str(body.detail) ?? (body.detail !== undefined ? JSON.stringify(body.detail) : null)) : null;
  return {
    code: str(err.code) ?? str(err.type) ?? null,
    type: str(err.type),
    message: str(err.message),
    detail,
    planType: str(err.plan_type),
    resetsAt: num(err.resets_at),
    resetsInSeconds: num(err.resets_in_seconds),
  };
}

/** Whole seconds to wait, at least 1, from an upstream `Retry-After` (seconds or HTTP date). */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(1, Math.ceil((date - now) / 1000));
}

/** Seconds from an OpenAI-style message such as "Please try again in 1.5s" or "in 20ms". */
export function parseTryAgainIn(message: string | null): number | null {
  const match = message?.match(/try again in\s+(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?)\b/i);
  if (!match?.[1]) return null;
  const value = Number(match[1]);
  const seconds = match[2]?.toLowerCase() === 'ms' ? value / 1000 : value;
  return Math.max(1, Math.ceil(seconds));
}

function usageLimitError(fault: UpstreamFault, now: number): ApiError {
  let resetsAtMs: number | null = null;
  if (fault.resetsAt !== null) resetsAtMs = fault.resetsAt * 1000;
  else if (fault.resetsInSeconds !== null) resetsAtMs = now + fault.resetsInSeconds * 1000;
  const plan = fault.planType ? ` (${fault.planType} plan)` : '';
  if (resetsAtMs === null) {
    return new ApiError('usage_limit_reached', `You have reached the Codex usage limit of your ChatGPT subscription${plan}.`);
  }
  const retryAfter = Math.max(1, Math.ceil((resetsAtMs - now) / 1000));
  return new ApiError(
    'usage_limit_reached',
    `You have reached the Codex usage limit of your ChatGPT subscription${plan}. ` +
      `It resets at ${new Date(resetsAtMs).toISOString()}.`,
    { headers: { 'Retry-After': String(retryAfter) } },
  );
}

function usageNotIncludedError(): ApiError {
  return new ApiError(
    'usage_not_included',
    'Your ChatGPT plan does not include Codex. Upgrade the plan, or connect an account whose plan includes it.',
  );
}

function rateLimitError(message: string | null, retryAfter: number | null): ApiError {
  return new ApiError(
    'rate_limit_exceeded',
    message ? `The Codex backend is rate limiting this account: ${quote(message)}` : 'The Codex backend is rate limiting this account. Please retry shortly.',
    retryAfter === null ? {} : { headers: { 'Retry-After': String(retryAfter) } },
  );
}

/** A failure named by its code (from an error body or a stream event), or null when the code is not special. */
function byCode(fault: UpstreamFault, now: number, retryAfter: number | null): ApiError | null {
  switch (fault.code) {
    case 'usage_limit_reached':
      return usageLimitError(fault, now);
    case 'usage_not_included':
      return usageNotIncludedError();
    case 'context_length_exceeded':
      return new ApiError(
        'context_length_exceeded',
        fault.message ? quote(fault.message) : 'The input is longer than the model’s context window.',
        { param: 'input' },
      );
    case 'rate_limit_exceeded':
      return rateLimitError(fault.message, retryAfter ?? parseTryAgainIn(fault.message));
    case 'insufficient_quota':
      return new ApiError('usage_limit_reached', fault.message ? quote(fault.message) : 'This account has no Codex quota left.');
    default:
      return null;
  }
}

async function readJsonBody(res: Response): Promise<Json | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    return null;
  } finally {
    reader.cancel().catch(() => {});
  }
  try {
    return asRecord(JSON.parse(new TextDecoder().decode(concat(chunks))));
  } catch {
    return null;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The client error for a non-2xx answer from the model endpoint (after the one 401 retry).
 * Reads (and so consumes) the response body. `publicAppOrigin` builds the reconnect link.
 */
export async function mapUpstreamResponse(res: Response, now: number, publicAppOrigin?: string): Promise<ApiError> {
  const fault = readFault(await readJsonBody(res));
  const status = res.status;
  const detail = `upstream HTTP ${status}${fault.code ? ` ${fault.code}` : ''}`;
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'), now);

  const named = byCode(fault, now, status === 429 ? retryAfter : null);
  if (named) return named;
  if (status === 429) return rateLimitError(fault.message, retryAfter);
  if (status === 401) {
    // The broker has already refreshed the token once for this request: a second 401 with a
    // fresh token means ChatGPT no longer accepts this link, and only reconnecting fixes that.
    return new ApiError('codex_reauth_required', reauthMessage(publicAppOrigin), { detail: `${detail} after a token refresh` });
  }
  if (status === 413) {
    return new ApiError('request_too_large', 'The request is too large for the Codex backend.', { detail });
  }
  if (status >= 400 && status < 500 && status !== 403 && (fault.detail || fault.message)) {
    const text = quote(fault.detail ?? fault.message ?? '');
    return new ApiError('upstream_rejected', `The Codex backend rejected the request: ${text}`, { detail });
  }
  if (status >= 500) {
    return new ApiError('upstream_error', `The Codex backend failed (HTTP ${status}). Please try again.`, { detail });
  }
  // 403 without a known code is usually an edge block in front of the backend; other codes are unexpected.
  return new ApiError('upstream_error', `The Codex backend refused the request (HTTP ${status}).`, { detail });
}

/**
 * The client error for a `response.failed` event or a top-level `error` event. Both name the
 * failure by code; unknown codes become upstream_rejected when the backend blames the request,
 * upstream_error otherwise.
 */
export function mapStreamFailure(event: Json, now: number): ApiError {
  const response = asRecord(event.response);
  const source = event.type === 'response.failed' ? asRecord(response?.error) : (asRecord(event.error) ?? event);
  const fault = readFault(source ? { error: source } : null);
  // A top-level `error` event's own `type` field is the event name, not an error type.
  if (fault.code === 'error') fault.code = null;
  const detail = `stream ${String(event.type)}${fault.code ? ` ${fault.code}` : ''}`;
  const named = byCode(fault, now, null);
  if (named) return named;
  const message = fault.message ? quote(fault.message) : null;
  if (fault.type === 'invalid_request_error' || fault.code?.startsWith('invalid_')) {
    return new ApiError('upstream_rejected', `The Codex backend rejected the request: ${message ?? fault.code}`, { detail });
  }
  return new ApiError('upstream_error', message ? `The Codex backend failed: ${message}` : 'The Codex backend failed while answering.', { detail });
}

/** The stream ended (or broke) before `response.completed`, `response.incomplete` or `response.failed`. */
export function streamEndedEarlyError(reason: string): ApiError {
  return new ApiError('upstream_error', 'The Codex backend stopped answering before the response was complete.', {
    detail: reason,
  });
}

/** The relay or backend could not be reached at all. */
export function upstreamUnreachableError(err: unknown): ApiError {
  return new ApiError('upstream_error', 'Could not reach the Codex backend. Please try again.', {
    detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  });
}

/** No response headers within the allowed time. */
export function upstreamTimeoutError(seconds: number): ApiError {
  return new ApiError('upstream_timeout', `The Codex backend did not answer within ${seconds} seconds.`);
}
