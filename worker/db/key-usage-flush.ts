/**
 * The AuthBroker's flush: writes to `key_usage` (hourly rows per key, model and effort) and the
 * keys' `last_used_at`. The reads are in key-usage.ts.
 */

/** One hourly row's increments, as the AuthBroker accumulates them between flushes. */
export interface KeyUsageIncrement {
  userId: string;
  keyId: string;
  /** Epoch ms of the UTC hour's start. */
  hour: number;
  model: string;
  effort: string;
  requests: number;
  failed: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  durationMs: number;
}

const ADD_USAGE_SQL = `INSERT INTO key_usage (user_id, key_id, hour, model, effort, requests, failed, input_tokens,
    cached_input_tokens, output_tokens, reasoning_tokens, duration_ms)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
  ON CONFLICT (key_id, hour, model, effort) DO UPDATE SET
    requests = requests + excluded.requests, failed = failed + excluded.failed,
    input_tokens = input_tokens + excluded.input_tokens, cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    output_tokens = output_tokens + excluded.output_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
    duration_ms = duration_ms + excluded.duration_ms`;

/**
 * Adds the increments to their rows and moves the keys' `last_used_at` forward, in one batch
 * (one transaction: a failed flush adds nothing, so it can be retried whole).
 */
export async function addKeyUsage(db: D1Database, rows: readonly KeyUsageIncrement[], lastUsed: Readonly<Record<string, number>>): Promise<void> {
  const statements = rows.map((r) =>
    db.prepare(ADD_USAGE_SQL).bind(r.userId, r.keyId, r.hour, r.model, r.effort, r.requests, r.failed, r.inputTokens,
      r.cachedInputTokens, r.outputTokens, r.reasoningTokens, r.durationMs),
  );
  for (const [keyId, at] of Object.entries(lastUsed)) {
    statements.push(db.prepare('UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)').bind(at, keyId));
  }
  if (statements.length > 0) await db.batch(statements);
}
