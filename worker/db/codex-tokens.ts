/**
 * Queries on `codex_tokens`: one encrypted token bundle per user. `version` is bumped on
 * every write so a refresh only lands over the row it read (optimistic concurrency).
 */
import { REPLACE_CODEX_TOKENS_SQL, replaceCodexTokensParams, type CodexTokenFields } from './statements.ts';

export type { CodexTokenFields };

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

export async function readCodexTokens(db: D1Database, userId: string): Promise<CodexTokenRow | null> {
  return db.prepare('SELECT * FROM codex_tokens WHERE user_id = ?').bind(userId).first<CodexTokenRow>();
}

/**
 * Stores a newly linked account (provision, onboarding); see REPLACE_CODEX_TOKENS_SQL. False,
 * and nothing written, when another user has already linked this ChatGPT account.
 */
export async function replaceCodexTokens(
  db: D1Database,
  userId: string,
  fields: CodexTokenFields,
  now: number,
): Promise<boolean> {
  const result = await db.prepare(REPLACE_CODEX_TOKENS_SQL).bind(...replaceCodexTokensParams(userId, fields, now)).run();
  return result.meta.changes === 1;
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

/**
 * Like markCodexReauthRequired, but only over `expectedVersion`: a refresh that failed with
 * the old tokens must not flag a link that was reconnected meanwhile. False when the row moved.
 */
export async function markCodexReauthRequiredIfVersion(
  db: D1Database,
  userId: string,
  expectedVersion: number,
  reason: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE codex_tokens SET status = 'reauth_required', status_reason = ?, updated_at = ?, version = version + 1
       WHERE user_id = ? AND version = ?`,
    )
    .bind(reason, now, userId, expectedVersion)
    .run();
  return result.meta.changes === 1;
}
