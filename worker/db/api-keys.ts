/** Queries on `api_keys`. Only the HMAC of a key is ever stored or looked up. */
import { INSERT_API_KEY_SQL, insertApiKeyParams, type NewApiKey } from './statements.ts';

export type { NewApiKey };

export interface ApiKeyRow {
  id: string;
  user_id: string;
  key_hash: string;
  key_hint: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** Limits set on the dashboard (migration 0008); null: no limit. */
  max_requests_per_day: number | null;
  max_tokens_per_day: number | null;
  /** JSON array of model ids; null: every model of the account. */
  allowed_models: string | null;
  expires_at: number | null;
}

export async function insertApiKey(db: D1Database, key: NewApiKey): Promise<void> {
  await db.prepare(INSERT_API_KEY_SQL).bind(...insertApiKeyParams(key)).run();
}

/** A key as the request path reads it: with the version of its user's codex_tokens row. */
export interface ApiKeyLookup extends ApiKeyRow {
  /** `codex_tokens.version` of the key's user (null without a link), read in the same query. */
  link_version: number | null;
}

/**
 * The key with this hash, revoked or not (the caller decides what revoked means). The user's
 * link version rides along in the same read, so the AuthBroker can tell that the tokens were
 * replaced behind its back (`npm run provision` writes D1 only) without another round trip.
 */
export async function findApiKeyByHash(db: D1Database | D1DatabaseSession, keyHash: string): Promise<ApiKeyLookup | null> {
  return db
    .prepare(
      `SELECT api_keys.*, codex_tokens.version AS link_version FROM api_keys
       LEFT JOIN codex_tokens ON codex_tokens.user_id = api_keys.user_id WHERE api_keys.key_hash = ?`,
    )
    .bind(keyHash)
    .first<ApiKeyLookup>();
}

/**
 * `findApiKeyByHash` for the request path: from the nearest read replica when D1 read replication
 * is on, since what it is used for (which user and key a hash is) never changes; whether the key
 * may be used is the AuthBroker's to say. A key too new for the replica is read from the primary.
 */
export async function lookupApiKeyByHash(db: D1Database, keyHash: string): Promise<ApiKeyLookup | null> {
  return (await findApiKeyByHash(db.withSession('first-unconstrained'), keyHash)) ?? findApiKeyByHash(db, keyHash);
}

export async function listApiKeys(db: D1Database, userId: string): Promise<ApiKeyRow[]> {
  const { results } = await db
    .prepare('SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at DESC')
    .bind(userId)
    .all<ApiKeyRow>();
  return results;
}

/** Revokes one of the user's keys; false when it is not theirs or already revoked. */
export async function revokeApiKey(db: D1Database, userId: string, keyId: string, now: number): Promise<boolean> {
  const result = await db
    .prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL')
    .bind(now, keyId, userId)
    .run();
  return result.meta.changes === 1;
}

/** The limits a user sets on a key (null: no limit). */
export interface ApiKeyLimits {
  maxRequestsPerDay: number | null;
  maxTokensPerDay: number | null;
  allowedModels: string[] | null;
  expiresAt: number | null;
}

/** Sets a key's limits; false when it is not the user's or is revoked. */
export async function updateApiKeyLimits(db: D1Database, userId: string, keyId: string, limits: ApiKeyLimits): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE api_keys SET max_requests_per_day = ?, max_tokens_per_day = ?, allowed_models = ?, expires_at = ?
       WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
    )
    .bind(limits.maxRequestsPerDay, limits.maxTokensPerDay, limits.allowedModels === null ? null : JSON.stringify(limits.allowedModels),
      limits.expiresAt, keyId, userId)
    .run();
  return result.meta.changes === 1;
}
