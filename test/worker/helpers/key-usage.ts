/**
 * key_usage rows written straight into D1, as the AuthBroker's batched recording leaves them:
 * the contract the usage pages and endpoints read.
 */
import { env } from 'cloudflare:workers';

export interface UsageRowInput {
  userId: string;
  keyId: string;
  /** Any time inside the hour (epoch ms); stored as the hour's start. */
  at: number;
  model?: string;
  effort?: string;
  requests: number;
  failed?: number;
  input?: number;
  cached?: number;
  output?: number;
  reasoning?: number;
}

export async function insertKeyUsage(rows: UsageRowInput[]): Promise<void> {
  await env.DB.batch(rows.map((row) => env.DB.prepare(
    `INSERT INTO key_usage (user_id, key_id, hour, model, effort, requests, failed, input_tokens, cached_input_tokens,
       output_tokens, reasoning_tokens, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).bind(row.userId, row.keyId, row.at - (row.at % 3_600_000), row.model ?? 'gpt-5.5', row.effort ?? '', row.requests, row.failed ?? 0,
    row.input ?? 0, row.cached ?? 0, row.output ?? 0, row.reasoning ?? 0, row.requests * 900)));
}
