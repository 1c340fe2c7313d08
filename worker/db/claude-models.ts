/** Queries on `claude_models`: each user's Claude model name → GPT model id entries. */

/** The user's entries (name → model id). */
export async function listClaudeModels(db: D1Database, userId: string): Promise<Map<string, string>> {
  const { results } = await db.prepare('SELECT name, model FROM claude_models WHERE user_id = ?').bind(userId).all<{ name: string; model: string }>();
  return new Map(results.map((row) => [row.name, row.model]));
}

/** Replaces the user's entries with `entries` (an empty map goes back to the server's defaults), in one batch. */
export async function replaceClaudeModels(db: D1Database, userId: string, entries: ReadonlyMap<string, string>, now: number): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM claude_models WHERE user_id = ?').bind(userId),
    ...[...entries].map(([name, model]) =>
      db.prepare('INSERT INTO claude_models (user_id, name, model, updated_at) VALUES (?, ?, ?, ?)').bind(userId, name, model, now),
    ),
  ]);
}
