/**
 * The write statements that operator scripts run too (through `wrangler d1 execute`), kept
 * here, free of Worker-only types, so the Worker and `npm run provision` share one copy.
 */

export type SqlParam = string | number | null;

/**
 * Creates the user, or updates the display name (when one is given) of the user with that
 * email. ON CONFLICT absorbs a concurrent first sign-in, so one email is never two users.
 */
export const UPSERT_USER_SQL = `INSERT INTO users (id, email, display_name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
  ON CONFLICT (email) DO UPDATE SET display_name = COALESCE(excluded.display_name, users.display_name),
    updated_at = excluded.updated_at`;

/** `email` must already be normalized. */
export function upsertUserParams(id: string, email: string, displayName: string | null, now: number): SqlParam[] {
  return [id, email, displayName, now];
}

/** The clear-text columns stored beside the ciphertext (none of them is a credential). */
export interface CodexTokenFields {
  ciphertext: string;
  accountId: string;
  planType: string | null;
  accountEmail: string | null;
  accessExpiresAt: number | null;
  refreshedAt: number | null;
}

/**
 * Stores a newly linked account (provision, onboarding): replaces the tokens and clears any
 * reauth flag. Writes nothing (0 changes) when another user has linked this ChatGPT account:
 * one account, one user (the unique index codex_tokens_by_account guards every other writer).
 * (The WHERE clause is also what lets SQLite parse an upsert after INSERT … SELECT.)
 */
export const REPLACE_CODEX_TOKENS_SQL = `INSERT INTO codex_tokens (user_id, ciphertext, account_id, plan_type, account_email,
    status, status_reason, version, access_expires_at, refreshed_at, updated_at)
  SELECT ?1, ?2, ?3, ?4, ?5, 'active', NULL, 1, ?6, ?7, ?8
  WHERE NOT EXISTS (SELECT 1 FROM codex_tokens WHERE account_id = ?3 AND user_id <> ?1)
  ON CONFLICT (user_id) DO UPDATE SET
    ciphertext = excluded.ciphertext, account_id = excluded.account_id, plan_type = excluded.plan_type,
    account_email = excluded.account_email, status = 'active', status_reason = NULL,
    version = codex_tokens.version + 1, access_expires_at = excluded.access_expires_at,
    refreshed_at = excluded.refreshed_at, updated_at = excluded.updated_at`;

/** The user (id and email) who has linked `accountId`, when it is not `userId`. */
export const ACCOUNT_OWNER_SQL = `SELECT users.id AS id, users.email AS email FROM codex_tokens
  JOIN users ON users.id = codex_tokens.user_id WHERE codex_tokens.account_id = ?1 AND codex_tokens.user_id <> ?2`;

export function replaceCodexTokensParams(userId: string, fields: CodexTokenFields, now: number): SqlParam[] {
  return [userId, fields.ciphertext, fields.accountId, fields.planType, fields.accountEmail,
    fields.accessExpiresAt, fields.refreshedAt, now];
}

export interface NewApiKey {
  id: string;
  userId: string;
  keyHash: string;
  keyHint: string;
  name: string;
  now: number;
}

export const INSERT_API_KEY_SQL =
  'INSERT INTO api_keys (id, user_id, key_hash, key_hint, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)';

export function insertApiKeyParams(key: NewApiKey): SqlParam[] {
  return [key.id, key.userId, key.keyHash, key.keyHint, key.name, key.now];
}
