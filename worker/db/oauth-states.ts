/**
 * Queries on `oauth_states`: one row per ChatGPT sign-in started on /onboarding. Only the
 * SHA-256 of `state` is stored; the PKCE verifier only encrypted, and only until it is used.
 */

export interface OAuthStateRow {
  state_hash: string;
  user_id: string;
  verifier_ciphertext: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface NewOAuthState {
  stateHash: string;
  userId: string;
  verifierCiphertext: string;
  now: number;
  expiresAt: number;
}

/**
 * Stores a state and keeps only the user's `keepPerUser` newest (this one included), so reloading
 * /onboarding cannot grow the table; rows expired before `purgeBefore` are dropped in the same batch.
 */
export async function insertOAuthState(
  db: D1Database,
  state: NewOAuthState,
  purgeBefore: number,
  keepPerUser: number,
): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM oauth_states WHERE expires_at < ?').bind(purgeBefore),
    db.prepare('INSERT INTO oauth_states (state_hash, user_id, verifier_ciphertext, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .bind(state.stateHash, state.userId, state.verifierCiphertext, state.now, state.expiresAt),
    db.prepare(
      `DELETE FROM oauth_states WHERE user_id = ?1 AND rowid NOT IN
         (SELECT rowid FROM oauth_states WHERE user_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2)`,
    ).bind(state.userId, keepPerUser),
  ]);
}

export async function findOAuthState(db: D1Database, stateHash: string): Promise<OAuthStateRow | null> {
  return db.prepare('SELECT * FROM oauth_states WHERE state_hash = ?').bind(stateHash).first<OAuthStateRow>();
}

/**
 * Marks the state used and deletes its verifier, in one conditional UPDATE: true for exactly
 * one caller, and only while the state is the user's, unused and unexpired.
 */
export async function claimOAuthState(db: D1Database, stateHash: string, userId: string, now: number): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE oauth_states SET used_at = ?1, verifier_ciphertext = NULL
       WHERE state_hash = ?2 AND user_id = ?3 AND used_at IS NULL AND expires_at > ?1`,
    )
    .bind(now, stateHash, userId)
    .run();
  return result.meta.changes === 1;
}
