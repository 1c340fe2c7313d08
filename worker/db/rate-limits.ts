/** Queries on `rate_limits`: fixed-window counters, one row per bucket. */

export interface RateCount {
  /** Hits in the current window, this one included. */
  count: number;
  /** When the window ends (epoch ms). */
  resetsAt: number;
}

/**
 * Counts one hit in one atomic upsert (a window that has ended starts again at 1) and drops
 * buckets whose windows have ended, in the same batch.
 */
export async function hitRateLimit(db: D1Database, bucket: string, windowMs: number, now: number): Promise<RateCount> {
  const [, upsert] = await db.batch<{ count: number; resets_at: number }>([
    db.prepare('DELETE FROM rate_limits WHERE resets_at <= ?').bind(now),
    db
      .prepare(
        `INSERT INTO rate_limits (bucket, count, resets_at) VALUES (?1, 1, ?2 + ?3)
         ON CONFLICT (bucket) DO UPDATE SET
           count = CASE WHEN rate_limits.resets_at <= ?2 THEN 1 ELSE rate_limits.count + 1 END,
           resets_at = CASE WHEN rate_limits.resets_at <= ?2 THEN excluded.resets_at ELSE rate_limits.resets_at END
         RETURNING count, resets_at`,
      )
      .bind(bucket, now, windowMs),
  ]);
  const row = upsert?.results[0];
  if (!row) throw new Error('rate-limit upsert returned no row');
  return { count: row.count, resetsAt: row.resets_at };
}
