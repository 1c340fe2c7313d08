/**
 * Static-ish data the fake serves: the model list, rate-limit headers and the usage body derived from them.
 */
import { createHash } from 'node:crypto';
import type { UsageBody, UsageWindow } from './types.ts';

const EFFORTS = [
  { effort: 'low', description: 'Fast responses with lighter reasoning' },
  { effort: 'medium', description: 'Balances speed and reasoning depth' },
  { effort: 'high', description: 'Greater reasoning depth for complex problems' },
  { effort: 'xhigh', description: 'Extra high reasoning depth for complex problems' },
];

function model(slug: string, displayName: string, priority: number, efforts = EFFORTS) {
  return {
    slug,
    display_name: displayName,
    description: `${displayName} (fake Codex)`,
    visibility: 'list',
    priority,
    default_reasoning_level: 'medium',
    supported_reasoning_levels: efforts,
    supports_reasoning_summaries: true,
    support_verbosity: true,
    default_verbosity: 'medium',
    context_window: 272_000,
    input_modalities: ['text', 'image'],
    shell_type: 'shell_command',
    supported_in_api: true,
    base_instructions: 'You are Codex, a coding agent.',
  };
}

export const MODELS_BODY = {
  models: [
    model('gpt-5.5', 'GPT-5.5', 1),
    model('gpt-5.5-codex', 'GPT-5.5-Codex', 2),
    model('gpt-5.4-mini', 'GPT-5.4-Mini', 3, EFFORTS.filter((e) => e.effort !== 'xhigh')),
  ],
};
export const MODELS_JSON = JSON.stringify(MODELS_BODY);
export const MODELS_ETAG = `W/"${createHash('sha256').update(MODELS_JSON).digest('hex').slice(0, 16)}"`;

/** Rate-limit headers an account starts with (5-hour primary, weekly secondary window). */
export function defaultRateLimitHeaders(nowSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'x-codex-primary-used-percent': '12',
    'x-codex-primary-window-minutes': '300',
    'x-codex-primary-reset-at': String(nowSeconds + 3 * 3600),
    'x-codex-secondary-used-percent': '34',
    'x-codex-secondary-window-minutes': '10080',
    'x-codex-secondary-reset-at': String(nowSeconds + 5 * 86400),
    'x-codex-credits-has-credits': 'false',
    'x-codex-credits-unlimited': 'false',
    'x-codex-credits-balance': '0',
  };
}

type Window = { used_percent: number; window_minutes: number; reset_at: number };

function windowFrom(headers: Record<string, string>, which: 'primary' | 'secondary'): Window | null {
  const used = headers[`x-codex-${which}-used-percent`];
  if (used === undefined) return null;
  return {
    used_percent: Number(used),
    window_minutes: Number(headers[`x-codex-${which}-window-minutes`] ?? 0),
    reset_at: Number(headers[`x-codex-${which}-reset-at`] ?? 0),
  };
}

function credits(headers: Record<string, string>) {
  return {
    has_credits: headers['x-codex-credits-has-credits'] === 'true',
    unlimited: headers['x-codex-credits-unlimited'] === 'true',
    balance: headers['x-codex-credits-balance'] ?? '0',
  };
}

/** Data of the `codex.rate_limits` stream event, mirroring the headers. */
export function rateLimitsEvent(headers: Record<string, string>, planType: string) {
  return {
    type: 'codex.rate_limits',
    plan_type: planType,
    rate_limits: { primary: windowFrom(headers, 'primary'), secondary: windowFrom(headers, 'secondary') },
    credits: credits(headers),
  };
}

/** `GET /wham/usage` body derived from the account's rate-limit headers. */
export function usageBodyFrom(headers: Record<string, string>, planType: string): UsageBody {
  const now = Math.floor(Date.now() / 1000);
  const toUsage = (w: Window | null): UsageWindow | null =>
    w && {
      used_percent: w.used_percent,
      limit_window_seconds: w.window_minutes * 60,
      reset_after_seconds: Math.max(0, w.reset_at - now),
      reset_at: w.reset_at,
    };
  const primary = windowFrom(headers, 'primary');
  const secondary = windowFrom(headers, 'secondary');
  const limitReached = [primary, secondary].some((w) => w !== null && w.used_percent >= 100);
  return {
    plan_type: planType,
    rate_limit: {
      allowed: !limitReached,
      limit_reached: limitReached,
      primary_window: toUsage(primary),
      secondary_window: toUsage(secondary),
    },
    credits: credits(headers),
  };
}
