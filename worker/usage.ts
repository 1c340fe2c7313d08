/**
 * The usage endpoint (`GET /backend-api/wham/usage`, CODEX-PROTOCOL §5): the user's current
 * usage windows when no recent model response has reported them. Read as a RateLimitSnapshot,
 * the same shape the `x-codex-*` headers produce.
 */
import type { RateLimitSnapshot, RateLimitWindow } from './rate-limits.ts';
import { codexHeaders, upstreamFetch } from './upstream.ts';

/** How long the dashboard waits for the usage endpoint before showing what it already has. */
export const USAGE_TIMEOUT_MS = 5_000;

/** Fetches the user's usage with a fresh access token; null when not connected or on any failure. */
export async function fetchUsage(env: Env, userId: string, now: number): Promise<RateLimitSnapshot | null> {
  try {
    const grant = await env.AUTH_BROKER.getByName(userId).getAccessToken(userId);
    if (!grant.ok) return null;
    const headers = codexHeaders(grant);
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

/** The snapshot in a usage-endpoint body, or null when it carries no window or credits. */
export function parseUsageBody(body: unknown, now: number): RateLimitSnapshot | null {
  const root = record(body);
  if (!root) return null;
  const limits = record(root.rate_limit);
  const primary = usageWindow(limits?.primary_window, now);
  const secondary = usageWindow(limits?.secondary_window, now);
  const c = record(root.credits);
  const credits = c
    ? {
        hasCredits: typeof c.has_credits === 'boolean' ? c.has_credits : null,
        unlimited: typeof c.unlimited === 'boolean' ? c.unlimited : null,
        balance: typeof c.balance === 'string' || typeof c.balance === 'number' ? String(c.balance) : null,
      }
    : null;
  if (!primary && !secondary && !credits) return null;
  return { capturedAt: now, primary, secondary, credits, planType: typeof root.plan_type === 'string' ? root.plan_type : null };
}

function usageWindow(value: unknown, now: number): RateLimitWindow | null {
  const w = record(value);
  const usedPercent = w ? finite(w.used_percent) : null;
  if (!w || usedPercent === null) return null;
  const seconds = finite(w.limit_window_seconds);
  const resetAt = finite(w.reset_at);
  const resetAfter = finite(w.reset_after_seconds);
  return {
    usedPercent,
    windowMinutes: seconds === null ? null : Math.round(seconds / 60),
    resetsAt: resetAt !== null ? Math.round(resetAt * 1000) : resetAfter !== null ? now + Math.round(resetAfter * 1000) : null,
  };
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
