/**
 * The usage endpoint (`GET /backend-api/wham/usage`, CODEX-PROTOCOL §5): the user's current
 * usage windows when no recent model response has reported them. Read as a RateLimitSnapshot,
 * the same shape the `x-codex-*` headers produce.
 */
import { parseUsageBody, type RateLimitSnapshot } from './rate-limits.ts';
import { codexClientVersion, codexHeaders, upstreamFetch } from './egress.ts';

/**
 * The paths Codex CLI reads the account's limits from, depending on its `chatgpt_base_url`
 * (`…/backend-api` → `/wham/usage`, anything else → `/api/codex/usage`). We serve both.
 */
export const CODEX_USAGE_PATHS = ['/backend-api/wham/usage', '/api/codex/usage'] as const;

/** Figures younger than this are served as they are; older ones are refreshed from the usage endpoint. */
export const USAGE_FRESH_MS = 5 * 60_000;

/** How long the dashboard waits for the usage endpoint before showing what it already has. */
export const USAGE_TIMEOUT_MS = 5_000;

/** Fetches the user's usage with a fresh access token; null when not connected or on any failure. */
export async function fetchUsage(env: Env, userId: string, now: number): Promise<RateLimitSnapshot | null> {
  try {
    const grant = await env.AUTH_BROKER.getByName(userId).getAccessToken(userId);
    if (!grant.ok) return null;
    const headers = codexHeaders({ ...grant, clientVersion: codexClientVersion(env) });
    headers.set('Accept', 'application/json');
    headers.delete('Content-Type');
    const response = await upstreamFetch(env, 'usage', { method: 'GET', headers, signal: AbortSignal.timeout(USAGE_TIMEOUT_MS) });
    if (!response.ok) {
      await response.body?.cancel();
      console.warn(JSON.stringify({ event: 'usage_fetch_failed', userId, status: response.status }));
      return null;
    }
    return parseUsageBody(await response.json(), now);
  } catch (err) {
    console.warn(JSON.stringify({ event: 'usage_fetch_failed', userId, error: err instanceof Error ? err.name : 'error' }));
    return null;
  }
}

/**
 * The latest usage: what the last model response reported, when recent; else a fresh read of
 * the usage endpoint (remembered by the broker for next time, in `waitUntil`); else whatever
 * older figures exist, or null.
 */
export async function currentUsage(env: Env, userId: string, now: number, waitUntil: (p: Promise<unknown>) => void): Promise<RateLimitSnapshot | null> {
  const broker = env.AUTH_BROKER.getByName(userId);
  const recorded = await broker.getRateLimits(userId).catch(() => null);
  if (recorded && now - recorded.capturedAt < USAGE_FRESH_MS) return recorded;
  const fetched = await fetchUsage(env, userId, now);
  if (!fetched) return recorded;
  waitUntil(broker.recordRateLimits(userId, fetched).catch(() => undefined));
  return fetched;
}
