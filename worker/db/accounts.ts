/** Deleting a whole account: everything stored for the user, in one batch. */

/**
 * Removes the user and all their rows (tokens, keys and their usage, Claude model entries, sessions, OAuth states, device logins, and pending
 * sign-in links for their email). Explicit deletes rather than relying on ON DELETE CASCADE,
 * so the outcome does not depend on the foreign-keys pragma.
 */
export async function deleteAccount(db: D1Database, userId: string, email: string): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM sessions WHERE user_id = ?').bind(userId),
    db.prepare('DELETE FROM oauth_states WHERE user_id = ?').bind(userId),
    db.prepare('DELETE FROM device_logins WHERE user_id = ?').bind(userId),
    db.prepare('DELETE FROM api_keys WHERE user_id = ?').bind(userId),
    db.prepare('DELETE FROM key_usage WHERE user_id = ?').bind(userId),
    db.prepare('DELETE FROM codex_tokens WHERE user_id = ?').bind(userId),
    db.prepare('DELETE FROM claude_models WHERE user_id = ?').bind(userId),
    db.prepare('DELETE FROM magic_links WHERE email = ?').bind(email),
    db.prepare('DELETE FROM users WHERE id = ?').bind(userId),
  ]);
}
