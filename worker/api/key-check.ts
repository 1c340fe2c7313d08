/**
 * Proxy-key verification for the OpenAI surface (`/v1/*` and its unprefixed aliases).
 * A key is checked for shape and checksum first (no storage for junk), then by its HMAC: which
 * user and key it is comes from this isolate's memory (it never changes) or, the first time,
 * from D1; whether it may be used now (revoked, expired, over a day limit) is answered by the
 * user's AuthBroker, in the same call that brings the token and the catalog. So a request costs
 * one remote round trip before its upstream call (docs/architecture.md, "The hot path").
 * The presented key is never logged and never echoed in a response.
 */
import type { MiddlewareHandler } from 'hono';
import type { Admission } from '../accounts/auth-broker.ts';
import { hashProxyKey } from '../accounts/crypto.ts';
import { keyRefusalError, type KeyRefusal } from '../accounts/key-limits.ts';
import { lookupApiKeyByHash } from '../db/api-keys.ts';
import { ApiError } from '../shared/errors.ts';
import { extractProxyKey, isWellFormedProxyKey } from '../accounts/proxy-keys.ts';
import { urlCarriesKey } from '../shared/log-url.ts';
import { heldCatalog, type HeldAccess } from './caller-models.ts';
import { UsageMeter } from './usage-recording.ts';

/** Who is calling: set by requireProxyKey for every authenticated request. */
export interface Caller {
  userId: string;
  keyId: string;
  /** The user's codex_tokens version when the key was read from D1 (null: no link, or the key came from memory). */
  linkVersion: number | null;
}


/** Hono context variables set by this module: `Hono<{ Bindings: Env; Variables: AuthVariables }>`. */
export interface AuthVariables {
  caller: Caller;
  /** The token and catalog the key check's broker call brought (for api/caller-models.ts). */
  admission: HeldAccess;
  /** Records this request's usage (worker/api/usage-recording.ts). */
  usage: UsageMeter;
  /** The user's own Claude model entries (name → model id), for /v1/messages. */
  claudeModels: ReadonlyMap<string, string>;
}

/** Keys remembered per isolate (which user and key a hash is: a fact that never changes). */
const MAX_REMEMBERED_KEYS = 10_000;
const owners = new Map<string, { userId: string; keyId: string }>();

const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. Send your UseMySub key (cpk_…) as 'Authorization: Bearer YOUR_KEY' or in an 'x-api-key' or 'api-key' header, not in the URL.";
// URLs end up in proxies' and platforms' logs and in browser history, so a key sent there is exposed.
const KEY_IN_URL_MESSAGE =
  "API keys are accepted only in headers, never in the URL: send your UseMySub key (cpk_…) as 'Authorization: Bearer YOUR_KEY' " +
  "or in an 'x-api-key' or 'api-key' header. A key that was in a URL may have been logged along the way: revoke it on your dashboard and create a new one.";
const INCORRECT_KEY_MESSAGE =
  'Incorrect API key provided. You can find and create your UseMySub keys on your dashboard.';

/**
 * Rejects requests without a valid, unrevoked, unexpired proxy key (401), or over one of the
 * key's day limits (429); sets `caller`, `admission`, `claudeModels` and `usage`. A POST is a model request: it
 * is counted in the key's day at once, and given back if it never reaches the model.
 */
export const requireProxyKey: MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> = async (c, next) => {
  // CORS preflights carry no credentials by design; the CORS layer answers them.
  if (c.req.method === 'OPTIONS') return next();

  const key = extractProxyKey(c.req.raw.headers);
  if (key === null) return reject(urlCarriesKey(c.req.url) ? 'in_url' : 'missing');
  if (!isWellFormedProxyKey(key)) return reject('malformed');

  const startedAt = Date.now();
  const hash = await hashProxyKey(c.env.API_KEY_PEPPER, key);
  let owner = owners.get(hash);
  let linkVersion: number | null = null;
  if (!owner) {
    const row = await lookupApiKeyByHash(c.env.DB, hash);
    if (!row) return reject('unknown');
    // A replica may lag behind a revocation; the broker's answer below is the one that counts.
    if (row.revoked_at !== null) return reject('revoked', row.id);
    owner = { userId: row.user_id, keyId: row.id };
    linkVersion = row.link_version;
    owners.set(hash, owner);
    if (owners.size > MAX_REMEMBERED_KEYS) owners.delete(owners.keys().next().value!);
  }

  const modelRequest = c.req.method === 'POST';
  const held = heldCatalog(owner.userId);
  const admission: Admission = await c.env.AUTH_BROKER.getByName(owner.userId).admit(owner.userId, {
    keyId: owner.keyId,
    modelRequest,
    knownRevision: held?.revision ?? null,
    seenVersion: linkVersion,
  });
  if (!admission.ok) {
    // A key deleted since this isolate met it (purged, or its account deleted) is forgotten here too.
    if (admission.refusal.reason === 'unknown') owners.delete(hash);
    return refuse(admission.refusal, owner.keyId);
  }

  c.set('caller', { userId: owner.userId, keyId: owner.keyId, linkVersion });
  c.set('admission', { access: admission.access, held, stale: admission.access.models?.stale === true });
  c.set('claudeModels', new Map(Object.entries(admission.claudeModels)));
  const meter = new UsageMeter({
    env: c.env, userId: owner.userId, keyId: owner.keyId, countedDay: modelRequest ? admission.dayStart : null, allowedModels: admission.allowedModels,
    waitUntil: waitUntilOf(c), startedAt,
  });
  c.set('usage', meter);
  await next();
  meter.settle(c.res);
};

function waitUntilOf(c: Parameters<typeof requireProxyKey>[0]): (promise: Promise<unknown>) => void {
  return (promise) => {
    try {
      c.executionCtx.waitUntil(promise);
    } catch {
      // No execution context (app.request() in a unit test): the promise still runs, just unawaited.
    }
  };
}

function refuse(refusal: KeyRefusal, keyId: string): Response {
  if (refusal.reason === 'unknown' || refusal.reason === 'revoked') return reject(refusal.reason, keyId);
  const error = keyRefusalError(refusal, Date.now(), INCORRECT_KEY_MESSAGE);
  console.log(JSON.stringify({ event: 'api_key_refused', reason: refusal.reason, keyId }));
  return error.toResponse();
}

// Returned rather than thrown so the answer does not depend on where onError is mounted.
function reject(reason: 'missing' | 'in_url' | 'malformed' | 'unknown' | 'revoked', keyId?: string): Response {
  // Unknown and revoked keys are worth a line (a stale or leaked key in use); noise is not.
  if (reason === 'unknown' || reason === 'revoked') {
    console.log(JSON.stringify({ event: 'api_key_rejected', reason, ...(keyId ? { keyId } : {}) }));
  }
  const message = reason === 'missing' ? MISSING_KEY_MESSAGE : reason === 'in_url' ? KEY_IN_URL_MESSAGE : INCORRECT_KEY_MESSAGE;
  return new ApiError('invalid_api_key', message, { detail: `proxy key ${reason}` }).toResponse();
}
