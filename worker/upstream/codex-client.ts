/**
 * The one function that performs a model request for a user: token from the user's AuthBroker,
 * the upstream call with the Codex headers, one forced refresh and retry on 401, rate-limit
 * headers recorded, failures mapped to ApiErrors. It returns the upstream events as an EventFeed
 * (translate/sse.ts) that the caller pulls; what the client receives (pass-through, aggregation,
 * Chat Completions) is decided by the caller.
 */
import { accessFromGrant } from '../accounts/auth-broker.ts';
import { ApiError } from '../shared/errors.ts';
import { parseRateLimitEvent, parseRateLimitHeaders, type RateLimitSnapshot } from './rate-limits.ts';
import type { UpstreamResponsesBody } from '../translate/responses-request.ts';
import { EventFeed } from '../translate/sse.ts';
import { codexClientVersion, codexHeaders, MODELS_ETAG_HEADER, upstreamFetch } from './egress.ts';
import {
  mapUpstreamResponse,
  streamEndedEarlyError,
  upstreamIdleError,
  upstreamTimeoutError,
  upstreamUnreachableError,
} from './error-mapping.ts';

/** How long we wait for the backend's response headers (the stream itself may run longer). */
export const UPSTREAM_HEADERS_TIMEOUT_MS = 90_000;

/**
 * How long the stream may go without a byte from upstream before we end it (the default of
 * UPSTREAM_IDLE_TIMEOUT_MS). Below Codex CLI's own 300 s and the relay's body-idle 300 s, so the
 * client gets our clear 504 rather than a dropped connection.
 */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 240_000;

export interface ModelRequest {
  userId: string;
  /** The link version the key check read; a newer one than the broker holds makes it re-read D1. */
  linkVersion?: number | null;
  body: UpstreamResponsesBody;
  /** The client's `prompt_cache_key`: the upstream session id is derived from it when present. */
  promptCacheKey: string | null;
  /** The client's request signal: a disconnect aborts the upstream request (and its stream). */
  signal?: AbortSignal;
  /** `ctx.waitUntil`, for bookkeeping that must not delay the answer. */
  waitUntil: (promise: Promise<unknown>) => void;
  /** A token the caller already holds (from the AuthBroker call that brought the catalog); else one is asked for. */
  grant?: Grant;
  /**
   * The ETag of the catalog the request was checked against. A different `x-models-etag` on the
   * answer means the account's catalog changed: the AuthBroker is told to read it again.
   */
  modelsEtag?: string | null;
}

export interface ModelRequestOptions {
  headersTimeoutMs?: number;
  /** Overrides UPSTREAM_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  now?: () => number;
}

type Grant = { accessToken: string; accountId: string };

/**
 * Sends `request.body` to the Codex backend for `request.userId` and returns its events.
 * Throws ApiError for every failure before the stream starts.
 */
export async function openModelStream(
  env: Env,
  request: ModelRequest,
  options: ModelRequestOptions = {},
): Promise<EventFeed> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.headersTimeoutMs ?? UPSTREAM_HEADERS_TIMEOUT_MS;
  const idleMs = options.idleTimeoutMs ?? idleTimeoutFrom(env);
  const broker = env.AUTH_BROKER.getByName(request.userId);
  const payload = JSON.stringify(request.body);
  const sessionId = request.promptCacheKey ? await sessionIdFor(request.promptCacheKey) : crypto.randomUUID();
  const clientVersion = codexClientVersion(env);
  const send = (grant: Grant) => sendOnce(env, { ...grant, sessionId, clientVersion }, payload, request.signal, timeoutMs);

  let grant = request.grant ?? accessFromGrant(await broker.getAccessToken(request.userId, request.linkVersion ?? null));
  let res = await send(grant);
  if (res.status === 401) {
    // Nothing has reached the client yet, so one retry with a refreshed token is safe.
    await res.body?.cancel();
    grant = accessFromGrant(await broker.refreshAfterUnauthorized(request.userId, grant.accessToken));
    res = await send(grant);
  }

  const record = (snapshot: RateLimitSnapshot | null) => {
    if (!snapshot) return;
    request.waitUntil(
      broker.recordRateLimits(request.userId, snapshot).catch((err: unknown) => {
        console.error(JSON.stringify({ event: 'rate_limits_record_failed', error: String(err) }));
      }),
    );
  };
  record(parseRateLimitHeaders(res.headers, now()));
  noteModelsEtag(request, res.headers.get(MODELS_ETAG_HEADER), (seen) => broker.refreshModelCatalog(request.userId, seen));

  if (!res.ok) throw await mapUpstreamResponse(res, now(), env.PUBLIC_APP_ORIGIN);
  if (!res.body) throw streamEndedEarlyError('upstream answered 2xx without a body');
  const feed = new EventFeed(res.body, { ms: idleMs, error: () => upstreamIdleError(idleMs) });
  feed.observe((event) => {
    if (event.type === RATE_LIMITS_EVENT) record(parseRateLimitEvent(event.data, now()));
  });
  return feed;
}

/** The backend's event with the account's current usage windows. */
const RATE_LIMITS_EVENT = 'codex.rate_limits';

/** UPSTREAM_IDLE_TIMEOUT_MS (milliseconds); empty means the default, anything else but a positive integer is a config error. */
export function idleTimeoutFrom(env: Env): number {
  const raw = (env.UPSTREAM_IDLE_TIMEOUT_MS ?? '').trim();
  if (raw === '') return DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new ApiError('internal_error', 'The server had an unexpected error. Please try again.', {
      detail: `UPSTREAM_IDLE_TIMEOUT_MS must be a positive integer of milliseconds, not ${JSON.stringify(raw)}`,
    });
  }
  return ms;
}

/** One upstream attempt, with the header timeout and the client's abort signal applied. */
async function sendOnce(
  env: Env,
  grant: Grant & { sessionId: string; clientVersion: string },
  payload: string,
  clientSignal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('upstream headers timeout', 'TimeoutError'));
  }, timeoutMs);
  // Kept for the whole stream, not only until the headers: a client leaving mid-stream aborts it too.
  if (clientSignal?.aborted) controller.abort(clientSignal.reason);
  clientSignal?.addEventListener('abort', () => controller.abort(clientSignal.reason), { once: true });
  try {
    return await upstreamFetch(env, 'responses', {
      method: 'POST',
      headers: codexHeaders(grant),
      body: payload,
      signal: controller.signal,
    });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (timedOut) throw upstreamTimeoutError(Math.round(timeoutMs / 1000));
    if (clientSignal?.aborted) {
      throw new ApiError('upstream_error', 'The request was cancelled.', { detail: 'client disconnected' });
    }
    throw upstreamUnreachableError(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks for a catalog re-read, after the answer, when the backend names a catalog other than the one the request used. */
function noteModelsEtag(request: ModelRequest, seen: string | null, refresh: (seen: string) => Promise<void>): void {
  if (request.modelsEtag === undefined || seen === null || seen === request.modelsEtag) return;
  request.waitUntil(
    refresh(seen).catch((err: unknown) => {
      console.error(JSON.stringify({ event: 'model_catalog_refresh_failed', error: String(err) }));
    }),
  );
}

/**
 * A UUID-shaped session id that stays the same for one `prompt_cache_key` (so the backend can
 * reuse its prompt cache across a conversation) without sending the key itself as the id.
 */
export async function sessionIdFor(promptCacheKey: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(promptCacheKey)));
  const b = digest.slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8 (custom)
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
