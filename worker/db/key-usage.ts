/**
 * Reads of `key_usage` (migration 0008): a user's usage summed per key and per hour or per UTC
 * day. The rows are written by the AuthBroker after the answers; nothing here writes.
 */

/** One key's usage summed over one hour or one UTC day. */
export interface KeyUsageSum {
  key_id: string;
  /** Epoch ms of the bucket's start: the hour, or 00:00 UTC of the day. */
  bucket: number;
  requests: number;
  failed: number;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
}

export const HOUR_MS = 60 * 60_000;
export const DAY_MS = 24 * HOUR_MS;

const SUMS = `SUM(requests) AS requests, SUM(failed) AS failed, SUM(input_tokens) AS input_tokens,
  SUM(cached_input_tokens) AS cached_input_tokens, SUM(output_tokens) AS output_tokens, SUM(reasoning_tokens) AS reasoning_tokens`;

/**
 * The user's usage per key and hour from `hoursFrom`, and per key and UTC day from `daysFrom`
 * (both epoch ms, inclusive), in one batch: every model and effort of a key summed together.
 */
export async function readKeyUsage(
  db: D1Database,
  userId: string,
  hoursFrom: number,
  daysFrom: number,
): Promise<{ hourly: KeyUsageSum[]; daily: KeyUsageSum[] }> {
  const [hourly, daily] = await db.batch<KeyUsageSum>([
    db.prepare(`SELECT key_id, hour AS bucket, ${SUMS} FROM key_usage WHERE user_id = ?1 AND hour >= ?2 GROUP BY key_id, hour`)
      .bind(userId, hoursFrom),
    db.prepare(`SELECT key_id, hour - hour % ?3 AS bucket, ${SUMS} FROM key_usage WHERE user_id = ?1 AND hour >= ?2 GROUP BY key_id, bucket`)
      .bind(userId, daysFrom, DAY_MS),
  ]);
  return { hourly: hourly?.results ?? [], daily: daily?.results ?? [] };
}
