/**
 * Usage over the API, with the proxy key: `GET /v1/usage` (our own JSON: the account's windows
 * and plan, this key's and the account's totals, the key's limits) and the Codex-style usage
 * endpoints (`/backend-api/wham/usage`, `/api/codex/usage`) that Codex CLI reads its limits from.
 * The windows come from the account's latest snapshot, or a fresh read when it is stale.
 */
import { Hono, type Context } from 'hono';
import { loadUsageReport, totalTokens, usageSeries, type UsageReport, type UsageTotals } from '../accounts/usage-report.ts';
import { listApiKeys, type ApiKeyRow } from '../db/api-keys.ts';
import { readCodexTokens } from '../db/codex-tokens.ts';
import { ApiError } from '../shared/errors.ts';
import { codexUsageBody, type RateLimitSnapshot, type RateLimitWindow } from '../upstream/rate-limits.ts';
import { CODEX_USAGE_PATHS, currentUsage } from '../upstream/usage-endpoint.ts';
import { methodNotAllowed, type AppEnv } from './openai-compatible.ts';

function waitUntilOf(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  return (promise) => c.executionCtx.waitUntil(promise);
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

function windowJson(window: RateLimitWindow | null) {
  return window && { used_percent: window.usedPercent, window_minutes: window.windowMinutes, resets_at: seconds(window.resetsAt) };
}

function totalsJson(totals: UsageTotals) {
  return {
    requests: totals.requests,
    failed: totals.failed,
    input_tokens: totals.inputTokens,
    cached_input_tokens: totals.cachedInputTokens,
    output_tokens: totals.outputTokens,
    reasoning_tokens: totals.reasoningTokens,
    total_tokens: totalTokens(totals),
  };
}

function rangesJson(report: UsageReport, keyId: string | null) {
  return { last_24h: totalsJson(usageSeries(report, 'hours', keyId).total), last_30d: totalsJson(usageSeries(report, 'days', keyId).total) };
}

function limitsJson(key: ApiKeyRow) {
  return {
    max_requests_per_day: key.max_requests_per_day,
    max_tokens_per_day: key.max_tokens_per_day,
    allowed_models: key.allowed_models === null ? null : (JSON.parse(key.allowed_models) as string[]),
    expires_at: seconds(key.expires_at),
  };
}

/** The body of `GET /v1/usage` (documented in README "Usage over the API"). */
function usageJson(snapshot: RateLimitSnapshot | null, planType: string | null, key: ApiKeyRow, report: UsageReport) {
  return {
    object: 'usage',
    plan: snapshot?.planType ?? planType,
    windows: snapshot && {
      primary: windowJson(snapshot.primary),
      secondary: windowJson(snapshot.secondary),
      captured_at: seconds(snapshot.capturedAt),
    },
    credits: snapshot?.credits ? { has_credits: snapshot.credits.hasCredits, unlimited: snapshot.credits.unlimited, balance: snapshot.credits.balance } : null,
    key: { id: key.id, name: key.name, limits: limitsJson(key), usage: rangesJson(report, key.id) },
    account: { usage: rangesJson(report, null) },
  };
}

async function accountUsage(c: Context<AppEnv>, now: number) {
  const { userId } = c.get('caller');
  const link = await readCodexTokens(c.env.DB, userId);
  const snapshot = link?.status === 'active' ? await currentUsage(c.env, userId, now, waitUntilOf(c)) : null;
  return { snapshot, planType: link?.plan_type ?? null };
}

const NO_FIGURES_MESSAGE =
  'UseMySub has no usage figures for your ChatGPT account yet and could not read them from ChatGPT just now. Try again shortly; if it persists, check the connection on your dashboard.';

export const usageApp = new Hono<AppEnv>()
  .get('/v1/usage', async (c) => {
    const now = Date.now();
    const { userId, keyId } = c.get('caller');
    const [{ snapshot, planType }, keys, report] = await Promise.all([
      accountUsage(c, now),
      listApiKeys(c.env.DB, userId),
      loadUsageReport(c.env.DB, userId, now),
    ]);
    const key = keys.find((row) => row.id === keyId);
    if (!key) throw new ApiError('invalid_api_key', 'Incorrect API key provided. You can find and create your UseMySub keys on your dashboard.');
    return c.json(usageJson(snapshot, planType, key, report));
  })
  .all('/v1/usage', (c) => methodNotAllowed(c.req.method));

for (const path of CODEX_USAGE_PATHS) {
  usageApp
    .get(path, async (c) => {
      const now = Date.now();
      const { snapshot, planType } = await accountUsage(c, now);
      if (!snapshot) throw new ApiError('upstream_error', NO_FIGURES_MESSAGE, { detail: 'no usage snapshot and the usage endpoint failed' });
      return c.json(codexUsageBody(snapshot, planType, now));
    })
    .all(path, (c) => methodNotAllowed(c.req.method));
}
