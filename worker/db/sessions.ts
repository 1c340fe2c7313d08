/** Queries on `sessions`. Only the SHA-256 of a session id is stored or looked up. */

export interface SessionUser {
  user_id: string;
  email: string;
  expires_at: number;
}

export interface NewSession {
  idHash: string;
  userId: string;
  now: number;
  expiresAt: number;
}

/**
 * Stores a session; every expired session (anyone's, through the expiry index) is dropped in the
 * same batch, as the other web tables purge on write, so none outlives a later sign-in.
 */
export async function insertSession(db: D1Database, session: NewSession): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM sessions WHERE expires_at <= ?').bind(session.now),
    db.prepare('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .bind(session.idHash, session.userId, session.now, session.expiresAt),
  ]);
}

/** The signed-in user of an unexpired session, or null. */
export async function findSessionUser(db: D1Database, idHash: string, now: number): Promise<SessionUser | null> {
  return db
    .prepare(
      `SELECT s.user_id, u.email, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.id_hash = ? AND s.expires_at > ?`,
    )
    .bind(idHash, now)
    .first<SessionUser>();
}

export async function deleteSession(db: D1Database, idHash: string): Promise<void> {
  await db.prepare('DELETE FROM sessions WHERE id_hash = ?').bind(idHash).run();
}
