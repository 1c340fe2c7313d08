/** Queries on `magic_links`. Only the SHA-256 of a link's token is stored or looked up. */

export interface MagicLinkRow {
  token_hash: string;
  email: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface NewMagicLink {
  tokenHash: string;
  /** Normalized. */
  email: string;
  now: number;
  expiresAt: number;
}

/** Stores a link; rows spent before `purgeBefore` are dropped in the same batch. */
export async function insertMagicLink(db: D1Database, link: NewMagicLink, purgeBefore: number): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM magic_links WHERE expires_at < ?').bind(purgeBefore),
    db.prepare('INSERT INTO magic_links (token_hash, email, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .bind(link.tokenHash, link.email, link.now, link.expiresAt),
  ]);
}

export async function findMagicLink(db: D1Database, tokenHash: string): Promise<MagicLinkRow | null> {
  return db.prepare('SELECT * FROM magic_links WHERE token_hash = ?').bind(tokenHash).first<MagicLinkRow>();
}

/**
 * Redeems a link in one conditional UPDATE: of any number of simultaneous redemptions exactly
 * one gets the email back; the others, and used or expired links, get null.
 */
export async function redeemMagicLink(db: D1Database, tokenHash: string, now: number): Promise<string | null> {
  const row = await db
    .prepare('UPDATE magic_links SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1 RETURNING email')
    .bind(now, tokenHash)
    .first<{ email: string }>();
  return row?.email ?? null;
}
