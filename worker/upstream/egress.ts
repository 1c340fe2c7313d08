/**
 * The one place that knows upstream URLs, the Codex client headers, and which path
 * (container relay, external relay, loopback relay, or direct) upstream traffic takes.
 */
import { CONTAINER_POOL_SIZE } from '../../relay/contract.ts';
import { RELAY_ERROR_HEADER, type RelayErrorCode } from '../../relay/errors.ts';
import { ApiError } from '../shared/errors.ts';
import { checkRelayUrl, parseRelayHosts, type RelayUrlCheck } from './relay-url.ts';

export const CODEX_BACKEND_URL = 'https://chatgpt.com/backend-api';
export const OPENAI_AUTH_URL = 'https://auth.openai.com';
/**
 * The Codex version we present as, unless the `CODEX_CLIENT_VERSION` var says otherwise. The
 * backend serves a model only to clients at least as new as its `minimal_client_version`, both in
 * the catalog and on requests, so an old value silently hides (and then refuses) new models.
 */
export const DEFAULT_CODEX_CLIENT_VERSION = '0.171.0';
export const CODEX_ORIGINATOR = 'codex_cli_rs';
/** Response header naming the account's current model catalog (its ETag). */
export const MODELS_ETAG_HEADER = 'x-models-etag';

const CLIENT_VERSION_SHAPE = /^\d{1,4}\.\d{1,4}\.\d{1,4}$/;
let warnedVersion: string | null = null;

/** The configured client version: `CODEX_CLIENT_VERSION` when it is `x.y.z`, else the default (logged once). */
export function codexClientVersion(env: { CODEX_CLIENT_VERSION?: string }): string {
  const configured = (env.CODEX_CLIENT_VERSION ?? '').trim();
  if (configured === '') return DEFAULT_CODEX_CLIENT_VERSION;
  if (CLIENT_VERSION_SHAPE.test(configured)) return configured;
  if (warnedVersion !== configured) {
    warnedVersion = configured;
    console.warn(JSON.stringify({ event: 'client_version_ignored', reason: 'CODEX_CLIENT_VERSION is not x.y.z', using: DEFAULT_CODEX_CLIENT_VERSION }));
  }
  return DEFAULT_CODEX_CLIENT_VERSION;
}


/** Relay answers that mean "this instance cannot take it now, another one may". */
const FAILOVER_CODES: ReadonlySet<string> = new Set<RelayErrorCode>([
  'relay_unavailable',
  'relay_shutting_down',
  'relay_overloaded',
]);

export type UpstreamRoute = 'responses' | 'models' | 'usage' | 'oauth_token' | 'device_usercode' | 'device_token';

/** Each route as the relay exposes it, and where it lives upstream. */
const ROUTES: Record<UpstreamRoute, { relayPath: string; directUrl: string }> = {
  responses: { relayPath: '/backend-api/codex/responses', directUrl: `${CODEX_BACKEND_URL}/codex/responses` },
  models: { relayPath: '/backend-api/codex/models', directUrl: `${CODEX_BACKEND_URL}/codex/models` },
  usage: { relayPath: '/backend-api/wham/usage', directUrl: `${CODEX_BACKEND_URL}/wham/usage` },
  oauth_token: { relayPath: '/oauth/token', directUrl: `${OPENAI_AUTH_URL}/oauth/token` },
  device_usercode: {
    relayPath: '/api/accounts/deviceauth/usercode',
    directUrl: `${OPENAI_AUTH_URL}/api/accounts/deviceauth/usercode`,
  },
  device_token: { relayPath: '/api/accounts/deviceauth/token', directUrl: `${OPENAI_AUTH_URL}/api/accounts/deviceauth/token` },
};

export type Egress =
  | { kind: 'relay'; origin: string; via: 'external' | 'loopback' }
  | { kind: 'container' }
  | { kind: 'direct' };

export interface EgressConfig {
  relayUrl: string;
  enableExternalRelay: boolean;
  allowLoopbackRelay: boolean;
  externalRelayHosts: readonly string[];
  hasContainer: boolean;
}

/**
 * Pure policy: a configured relay URL wins only when it passes the allowlist; otherwise
 * the container when bound, else direct. `ignored` says why a configured URL was not used.
 */
export function chooseEgress(config: EgressConfig): { egress: Egress; ignored: string | null } {
  let ignored: string | null = null;
  if (config.relayUrl !== '') {
    const check: RelayUrlCheck = checkRelayUrl(config.relayUrl, {
      enableExternalRelay: config.enableExternalRelay,
      allowLoopbackRelay: config.allowLoopbackRelay,
      externalRelayHosts: config.externalRelayHosts,
    });
    if (check.ok) return { egress: { kind: 'relay', origin: check.origin, via: check.via }, ignored };
    ignored = check.reason;
  }
  return { egress: config.hasContainer ? { kind: 'container' } : { kind: 'direct' }, ignored };
}

function egressConfig(env: Env): EgressConfig {
  return {
    relayUrl: (env.CODEX_RELAY_URL ?? '').trim(),
    enableExternalRelay: env.ENABLE_EXTERNAL_RELAY === 'true',
    allowLoopbackRelay: env.ALLOW_LOOPBACK_RELAY === 'true',
    externalRelayHosts: parseRelayHosts(env.EXTERNAL_RELAY_HOSTS),
    hasContainer: env.CODEX_RELAY !== undefined,
  };
}

// The decision depends only on env, which is fixed for an isolate; log an ignored URL once.
let cached: { key: string; egress: Egress } | null = null;

export function resolveEgress(env: Env): Egress {
  const config = egressConfig(env);
  const key = JSON.stringify(config);
  if (cached?.key === key) return cached.egress;
  const { egress, ignored } = chooseEgress(config);
  if (ignored) console.warn(JSON.stringify({ event: 'relay_url_ignored', reason: ignored, using: egress.kind }));
  cached = { key, egress };
  return egress;
}

export interface UpstreamInit {
  method: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  signal?: AbortSignal;
  /** Query string including the leading `?`. */
  search?: string;
}

/**
 * Sends one upstream request along the configured egress path. Rejects when it is unreachable,
 * and with an ApiError when the relay itself refused or failed (see relayFailure).
 */
export async function upstreamFetch(env: Env, route: UpstreamRoute, init: UpstreamInit): Promise<Response> {
  const response = await sendUpstream(env, route, init);
  const relayCode = response.headers.get(RELAY_ERROR_HEADER);
  if (relayCode === null) return response;
  await response.body?.cancel();
  throw relayFailure(relayCode, response.headers.get('retry-after'));
}

async function sendUpstream(env: Env, route: UpstreamRoute, init: UpstreamInit): Promise<Response> {
  const egress = resolveEgress(env);
  const { relayPath, directUrl } = ROUTES[route];
  const search = init.search ?? '';
  const headers = new Headers(init.headers);
  const requestInit: RequestInit = { method: init.method, headers, body: init.body ?? null, signal: init.signal ?? null };

  if (egress.kind === 'direct') return fetch(directUrl + search, requestInit);

  if (env.UPSTREAM_RELAY_TOKEN) headers.set('X-Relay-Token', env.UPSTREAM_RELAY_TOKEN);
  if (egress.kind === 'relay') return fetch(egress.origin + relayPath + search, requestInit);

  // The hostname is ignored: the Container class forwards to the relay's port.
  const url = `http://codex-relay${relayPath}${search}`;
  const slots = containerSlots(headers.get('ChatGPT-Account-ID'), CONTAINER_POOL_SIZE);
  // A streamed body can be sent once only; the callers' string bodies can be sent again.
  const replayable = init.body === undefined || init.body === null || typeof init.body === 'string';
  const attempts = replayable ? slots : slots.slice(0, 1);
  for (let i = 0; ; i++) {
    const last = i === attempts.length - 1;
    const relay = env.CODEX_RELAY.getByName(containerInstanceName(attempts[i]!));
    try {
      const response = await relay.fetch(new Request(url, requestInit));
      if (last || !FAILOVER_CODES.has(response.headers.get(RELAY_ERROR_HEADER) ?? '')) return response;
      await response.body?.cancel();
    } catch (error) {
      if (last || init.signal?.aborted) throw error;
    }
  }
}

/**
 * The pool slots that may serve a request, in order: the first, then one failover. A ChatGPT
 * account always starts at the same slot, so one user's traffic keeps one instance warm and
 * leaves from one place; requests without an account (OAuth token calls) start anywhere.
 */
export function containerSlots(accountId: string | null, poolSize: number): number[] {
  const first = accountId ? fnv1a(accountId) % poolSize : Math.floor(Math.random() * poolSize);
  return poolSize > 1 ? [first, (first + 1) % poolSize] : [first];
}

export function containerInstanceName(slot: number): string {
  return `codex-relay-${slot}`;
}

/** 32-bit FNV-1a: a cheap, stable spread of account ids over the pool (not a security boundary). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The headers the Codex backend expects on model, models and usage requests. */
export function codexHeaders(grant: { accessToken: string; accountId: string; sessionId?: string; clientVersion?: string }): Headers {
  const version = grant.clientVersion ?? DEFAULT_CODEX_CLIENT_VERSION;
  const headers = new Headers({
    Authorization: `Bearer ${grant.accessToken}`,
    'ChatGPT-Account-ID': grant.accountId,
    'Content-Type': 'application/json',
    Accept: 'text/event-stream',
    originator: CODEX_ORIGINATOR,
    'User-Agent': `${CODEX_ORIGINATOR}/${version} (Linux 6.8.0; x86_64) usemysub`,
    version,
  });
  if (grant.sessionId) headers.set('session_id', grant.sessionId);
  return headers;
}

/**
 * The client-facing error for one of the relay's own errors. A refused X-Relay-Token or an
 * unlisted route is the operator's misconfiguration, never the user's ChatGPT link, so it must
 * not look like an upstream 401 (which would send users to reconnect).
 */
export function relayFailure(code: string, retryAfter: string | null): ApiError {
  const detail = `relay answered ${code}`;
  switch (code as RelayErrorCode) {
    case 'request_too_large':
      return new ApiError('request_too_large', 'The request body is too large.', { detail });
    case 'upstream_timeout':
      return new ApiError('upstream_timeout', 'The Codex backend did not answer in time. Please try again.', { detail });
    case 'invalid_relay_token':
    case 'too_many_auth_failures':
      return new ApiError('upstream_error', 'The Codex backend could not be reached. Please try again later.', {
        detail: `${detail}: UPSTREAM_RELAY_TOKEN differs between the Worker and the relay`,
      });
    default:
      return new ApiError('upstream_error', 'The Codex backend could not be reached. Please try again later.', {
        detail,
        ...(retryAfter ? { headers: { 'Retry-After': retryAfter } } : {}),
      });
  }
}
