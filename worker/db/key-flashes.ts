/**
 * Queries on `key_flashes`: a newly created proxy key, encrypted, waiting for the one dashboard
 * load that follows the create-key redirect. Read and delete are one statement.
 */

export interface KeyFlashRow {
  key_id: string;
  key_ciphertext: string;
  expires_at: number;
}

export interface NewKeyFlash {
  sessionHash: string;
  keyId: string;
  keyCiphertext: string;
  expiresAt: number;
}

/** Stores the session's flash (replacing an unread one); expired flashes of anyone are dropped in the same batch. */
export async function putKeyFlash(db: D1Database, flash: NewKeyFlash, now: number): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM key_flashes WHERE expires_at <= ?').bind(now),
    db.prepare('INSERT OR REPLACE INTO key_flashes (session_hash, key_id, key_ciphertext, expires_at) VALUES (?, ?, ?, ?)')
      .bind(flash.sessionHash, flash.keyId, flash.keyCiphertext, flash.expiresAt),
  ]);
}

/**
 * Deletes the session's flash and returns it when it has not expired: of two loads at the same
 * moment, exactly one gets it.
 */
export async function takeKeyFlash(db: D1Database, sessionHash: string, now: number): Promise<KeyFlashRow | null> {
  const row = await db
    .prepare('DELETE FROM key_flashes WHERE session_hash = ? RETURNING key_id, key_ciphertext, expires_at')
    .bind(sessionHash)
    .first<KeyFlashRow>();
  return row && row.expires_at > now ? row : null;
}
