/**
 * Queries on `codex_tokens`: one encrypted token bundle per user. `version` is bumped on
 * every write so a refresh only lands over the row it read (optimistic concurrency).
 */

export type CodexLinkStatus = 'active' | 'reauth_required';

export interface CodexTokenRow {
  user_id: string;
  ciphertext: string;
  account_id: string;
  plan_type: string | null;
  account_email: string | null;
  status: CodexLinkStatus;
  status_reason: string | null;
  version: number;
  access_expires_at: number | null;
  refreshed_at: number | null;
  updated_at: number;
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

export async function readCodexTokens(db: D1Database, userId: string): Promise<CodexTokenRow | null> {
  return db.prepare('SELECT * FROM codex_tokens WHERE user_id = ?').bind(userId).first<CodexTokenRow>();
}

/** Stores a newly linked account (provision, onboarding): replaces tokens and clears any reauth flag. */
export async function replaceCodexTokens(
  db: D1Database,
  userId: string,
  fields: CodexTokenFields,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO codex_tokens (user_id, ciphertext, account_id, plan_type, account_email, status, status_reason,
                                 version, access_expires_at, refreshed_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, 'active', NULL, 1, ?6, ?7, ?8)
       ON CONFLICT (user_id) DO UPDATE SET
         ciphertext = excluded.ciphertext, account_id = excluded.account_id, plan_type = excluded.plan_type,
         account_email = excluded.account_email, status = 'active', status_reason = NULL,
         version = codex_tokens.version + 1, access_expires_at = excluded.access_expires_at,
         refreshed_at = excluded.refreshed_at, updated_at = excluded.updated_at`,
    )
    .bind(userId, fields.ciphertext, fields.accountId, fields.planType, fields.accountEmail,
      fields.accessExpiresAt, fields.refreshedAt, now)
    .run();
}

/** Writes refreshed tokens only over `expectedVersion`; false when someone else wrote first. */
export async function updateCodexTokensIfVersion(
  db: D1Database,
  userId: string,
  expectedVersion: number,
  fields: CodexTokenFields,
  now: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE codex_tokens SET ciphertext = ?, account_id = ?, plan_type = ?, account_email = ?,
         access_expires_at = ?, refreshed_at = ?, updated_at = ?, version = version + 1
       WHERE user_id = ? AND version = ?`,
    )
    .bind(fields.ciphertext, fields.accountId, fields.planType, fields.accountEmail,
      fields.accessExpiresAt, fields.refreshedAt, now, userId, expectedVersion)
    .run();
  return result.meta.changes === 1;
}

/** Marks the link as needing the user to reconnect; `reason` is an error code, never a token. */
export async function markCodexReauthRequired(
  db: D1Database,
  userId: string,
  reason: string,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE codex_tokens SET status = 'reauth_required', status_reason = ?, updated_at = ?, version = version + 1
       WHERE user_id = ?`,
    )
    .bind(reason, now, userId)
    .run();
}
