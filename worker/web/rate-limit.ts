/** Fixed-window rate limits for the web flows, counted in D1 (shared by every Worker instance). */
import { hitRateLimit } from '../db/rate-limits.ts';
import { rateLimitBucket } from './secrets.ts';
import type { RateRule } from './settings.ts';

export type RateDecision = { allowed: true } | { allowed: false; resetsAt: number };

/** Counts this attempt against `rule` for `subject` and says whether it is within the limit. */
export async function takeRateLimit(
  env: Pick<Env, 'DB' | 'API_KEY_PEPPER'>,
  rule: RateRule,
  subject: string,
  now: number,
): Promise<RateDecision> {
  const bucket = await rateLimitBucket(env.API_KEY_PEPPER, rule.name, subject);
  const { count, resetsAt } = await hitRateLimit(env.DB, bucket, rule.windowMs, now);
  return count <= rule.max ? { allowed: true } : { allowed: false, resetsAt };
}
