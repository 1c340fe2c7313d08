/**
 * The usage endpoint (`GET /backend-api/wham/usage`, CODEX-PROTOCOL §5): the user's current
 * usage windows when no recent model response has reported them. Read as a RateLimitSnapshot,
 * the same shape the `x-codex-*` headers produce.
 */
import { parseUsageBody, type RateLimitSnapshot } from './rate-limits.ts';
import { codexClientVersion, codexHeaders, upstreamFetch } from './egress.ts';

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
