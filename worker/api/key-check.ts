/**
 * Proxy-key verification for the OpenAI surface (`/v1/*` and its unprefixed aliases).
 * A key is checked for shape and checksum first (no database read for junk), then looked up
 * by its HMAC. The presented key is never logged and never echoed in a response.
 */
import type { MiddlewareHandler } from 'hono';
import { hashProxyKey } from '../accounts/crypto.ts';
import { findApiKeyByHash, touchApiKey } from '../db/api-keys.ts';
import { ApiError } from '../shared/errors.ts';
import { extractProxyKey, isWellFormedProxyKey } from '../accounts/proxy-keys.ts';
import { urlCarriesKey } from '../shared/log-url.ts';

/** Who is calling: set by requireProxyKey for every authenticated request. */
export interface Caller {
  userId: string;
  keyId: string;
  /** The user's codex_tokens version when the key was checked (null: no link): see AuthBroker.getAccessToken. */
  linkVersion: number | null;
}

/** Hono context variables set by this module: `Hono<{ Bindings: Env; Variables: AuthVariables }>`. */
export interface AuthVariables {
  caller: Caller;
}

const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. Send your UseMySub key (cpk_…) as 'Authorization: Bearer YOUR_KEY' or in an 'x-api-key' or 'api-key' header, not in the URL.";
// URLs end up in proxies' and platforms' logs and in browser history, so a key sent there is exposed.
const KEY_IN_URL_MESSAGE =
  "API keys are accepted only in headers, never in the URL: send your UseMySub key (cpk_…) as 'Authorization: Bearer YOUR_KEY' " +
  "or in an 'x-api-key' or 'api-key' header. A key that was in a URL may have been logged along the way: revoke it on your dashboard and create a new one.";
const INCORRECT_KEY_MESSAGE =
  'Incorrect API key provided. You can find and create your UseMySub keys on your dashboard.';

/** Rejects requests without a valid, unrevoked proxy key (401 invalid_api_key); sets `caller`. */
export const requireProxyKey: MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> = async (c, next) => {
  // CORS preflights carry no credentials by design; the CORS layer answers them.
  if (c.req.method === 'OPTIONS') return next();

  const key = extractProxyKey(c.req.raw.headers);
  if (key === null) return reject(urlCarriesKey(c.req.url) ? 'in_url' : 'missing');
  if (!isWellFormedProxyKey(key)) return reject('malformed');

  const row = await findApiKeyByHash(c.env.DB, await hashProxyKey(c.env.API_KEY_PEPPER, key));
  if (!row) return reject('unknown');
  if (row.revoked_at !== null) return reject('revoked', row.id);

  c.set('caller', { userId: row.user_id, keyId: row.id, linkVersion: row.link_version });
  const touch = touchApiKey(c.env.DB, row.id, Date.now()).catch((err: unknown) => {
    console.error(JSON.stringify({ event: 'api_key_touch_failed', keyId: row.id, error: String(err) }));
  });
  try {
    c.executionCtx.waitUntil(touch);
  } catch {
    // No execution context (app.request() in a unit test): the write still runs, just unawaited.
  }
  await next();
};

// Returned rather than thrown so the answer does not depend on where onError is mounted.
function reject(reason: 'missing' | 'in_url' | 'malformed' | 'unknown' | 'revoked', keyId?: string): Response {
  // Unknown and revoked keys are worth a line (a stale or leaked key in use); noise is not.
  if (reason === 'unknown' || reason === 'revoked') {
    console.log(JSON.stringify({ event: 'api_key_rejected', reason, ...(keyId ? { keyId } : {}) }));
  }
  const message = reason === 'missing' ? MISSING_KEY_MESSAGE : reason === 'in_url' ? KEY_IN_URL_MESSAGE : INCORRECT_KEY_MESSAGE;
  return new ApiError('invalid_api_key', message, { detail: `proxy key ${reason}` }).toResponse();
}
