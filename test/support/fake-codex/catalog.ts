/**
 * Static-ish data the fake serves: the model catalog (and its client-version gate), rate-limit headers and the usage body derived from them.
 */
import { createHash } from 'node:crypto';
import type { FakeModel, UsageBody, UsageWindow } from './types.ts';

const LEVELS: Record<string, string> = {
  low: 'Fast responses with lighter reasoning',
  medium: 'Balances speed and reasoning depth',
  high: 'Greater reasoning depth for complex problems',
  xhigh: 'Extra high reasoning depth for complex problems',
  max: 'Maximum reasoning depth',
  ultra: 'Longest reasoning, for the hardest problems',
};

function levels(efforts: string[]) {
  return efforts.map((effort) => ({ effort, description: LEVELS[effort] ?? effort }));
}

/** One `ModelInfo` of the catalog, with the fields Codex reads (openai/codex models.rs fixture). */
export function fakeModel(
  slug: string,
  options: { efforts?: string[]; visibility?: string; minimalClientVersion?: string; priority?: number; contextWindow?: number } = {},
): FakeModel {
  return {
    slug,
    display_name: slug.toUpperCase(),
    description: `${slug} (fake Codex)`,
    visibility: options.visibility ?? 'list',
    priority: options.priority ?? 1,
    minimal_client_version: options.minimalClientVersion ?? '0.98.0',
    default_reasoning_level: 'medium',
    supported_reasoning_levels: levels(options.efforts ?? ['low', 'medium', 'high', 'xhigh']),
    supports_reasoning_summaries: true,
    support_verbosity: true,
    default_verbosity: 'medium',
    context_window: options.contextWindow ?? 272_000,
    input_modalities: ['text', 'image'],
    shell_type: 'shell_command',
    supported_in_api: true,
    base_instructions: 'You are Codex, a coding agent.',
  };
}

const FULL = ['low', 'medium', 'high', 'xhigh'];

/** What every account is served unless a test sets its own list: today's catalog (CODEX-BACKEND-2026 §1.3). */
export const DEFAULT_MODELS: readonly FakeModel[] = [
  fakeModel('gpt-5.6-sol', { efforts: [...FULL, 'max', 'ultra'], minimalClientVersion: '0.144.0', priority: 1 }),
  fakeModel('gpt-5.6-terra', { efforts: [...FULL, 'max', 'ultra'], minimalClientVersion: '0.144.0', priority: 2 }),
  fakeModel('gpt-5.6-luna', { efforts: [...FULL, 'max'], minimalClientVersion: '0.144.0', priority: 3 }),
  fakeModel('gpt-5.5', { minimalClientVersion: '0.124.0', priority: 4 }),
  fakeModel('gpt-5.4', { priority: 5 }),
  fakeModel('gpt-5.4-mini', { priority: 6 }),
  fakeModel('gpt-5.3-codex-spark', { minimalClientVersion: '0.100.0', priority: 7, contextWindow: 128_000 }),
  fakeModel('codex-auto-review', { efforts: [...FULL, 'max'], visibility: 'hide', priority: 8 }),
];

/** `a >= b` for dotted versions (`0.144.0`); a missing part counts as 0. */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** The catalog a client of `clientVersion` is shown: the backend leaves out models that need a newer client. */
export function catalogFor(models: readonly FakeModel[], clientVersion: string): { json: string; etag: string } {
  const visible = models.filter((m) => versionAtLeast(clientVersion, String(m.minimal_client_version ?? '0')));
  const json = JSON.stringify({ models: visible });
  return { json, etag: `W/"${createHash('sha256').update(json).digest('hex').slice(0, 16)}"` };
}

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
