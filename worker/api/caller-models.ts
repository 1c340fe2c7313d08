/**
 * The caller's access token and model catalog, from the one AuthBroker call every request
 * already makes (the key check's `admit`). The catalog is cached in this isolate by its revision,
 * so it crosses the RPC only when it changed and its id index is built once per change, not per
 * request.
 */
import { accessFromGrant, type ModelAccess } from '../accounts/auth-broker.ts';
import { buildModelIndex, type ModelIndex } from '../translate/model-catalog.ts';

/** Isolate copies kept (one per recently active user); the oldest is dropped first. */
const MAX_CACHED_USERS = 1_000;

interface CachedCatalog {
  revision: string;
  index: ModelIndex;
}

const cache = new Map<string, CachedCatalog>();

export interface CallerModels {
  grant: { accessToken: string; accountId: string };
  models: ModelIndex;
  /** The catalog's ETag, to compare with a model answer's `x-models-etag`; null for the bundled catalog. */
  modelsEtag: string | null;
  source: 'account' | 'bundled';
}

/** What the broker answered for this request, with the isolate copy its answer may refer to. */
export interface HeldAccess {
  access: ModelAccess;
  held: CachedCatalog | undefined;
  /** The broker served a stale catalog (revalidated after the answer). */
  stale: boolean;
}

/** The revision this isolate holds for the user, to send with the broker call (and the copy itself). */
export function heldCatalog(userId: string): CachedCatalog | undefined {
  return cache.get(userId);
}

/**
 * Throws the ApiError of an unusable grant (not connected, reauth, refresh unavailable). With
 * `fresh`, a stale catalog is revalidated before answering (a second call: GET /v1/models only);
 * otherwise a stale one is served and revalidated after the answer.
 */
export async function callerModels(
  env: Env,
  userId: string,
  waitUntil: (promise: Promise<unknown>) => void,
  options: { fresh?: boolean; linkVersion?: number | null; admitted?: HeldAccess } = {},
): Promise<CallerModels> {
  const broker = env.AUTH_BROKER.getByName(userId);
  let answered = options.admitted;
  if (!answered || (options.fresh === true && answered.stale)) {
    const held = cache.get(userId);
    const access = await broker.getModelAccess(userId, {
      knownRevision: held?.revision ?? null,
      fresh: options.fresh === true,
      seenVersion: options.linkVersion ?? null,
    });
    answered = { access, held, stale: access.models?.stale === true };
  }
  const grant = accessFromGrant(answered.access.grant);
  const answer = answered.access.models;
  if (!answer) throw new Error('AuthBroker gave a usable grant without a catalog');
  // The broker leaves the catalog out only when it is the revision we sent, i.e. `held`.
  const entry = answer.catalog ? { revision: answer.revision, index: buildModelIndex(answer.catalog) } : answered.held;
  if (!entry) throw new Error('AuthBroker omitted a catalog the isolate does not hold');
  cache.delete(userId);
  cache.set(userId, entry);
  if (cache.size > MAX_CACHED_USERS) cache.delete(cache.keys().next().value!);
  if (answer.stale) {
    waitUntil(
      broker.refreshModelCatalog(userId, null).catch((err: unknown) => {
        console.error(JSON.stringify({ event: 'model_catalog_refresh_failed', error: String(err) }));
      }),
    );
  }
  return { grant, models: entry.index, modelsEtag: answer.etag, source: answer.source };
}
