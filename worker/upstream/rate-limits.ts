/** The latest usage windows seen for a user, from upstream `x-codex-*` headers or events. */

export interface RateLimitWindow {
  usedPercent: number;
  windowMinutes: number | null;
  /** Epoch ms. */
  resetsAt: number | null;
}

export interface RateLimitSnapshot {
  /** Epoch ms when these figures were read. */
  capturedAt: number;
  primary: RateLimitWindow | null;
  secondary: RateLimitWindow | null;
  credits: { hasCredits: boolean | null; unlimited: boolean | null; balance: string | null } | null;
  planType: string | null;
}

const HEADER_PREFIX = 'x-codex-';

function finiteNumber(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function flag(value: string | null): boolean | null {
  if (value === null) return null;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return null;
}

/** Epoch ms from an absolute reset (epoch seconds) or, in older backends, seconds from now. */
function resetTime(resetAtSeconds: number | null, resetAfterSeconds: number | null, now: number): number | null {
  if (resetAtSeconds !== null) return Math.round(resetAtSeconds * 1000);
  if (resetAfterSeconds !== null) return now + Math.round(resetAfterSeconds * 1000);
  return null;
}

function windowFromHeaders(headers: Headers, name: 'primary' | 'secondary', now: number): RateLimitWindow | null {
  const get = (suffix: string) => finiteNumber(headers.get(`${HEADER_PREFIX}${name}-${suffix}`));
  const usedPercent = get('used-percent');
  if (usedPercent === null) return null;
  return {
    usedPercent,
    windowMinutes: get('window-minutes'),
    resetsAt: resetTime(get('reset-at'), get('reset-after-seconds'), now),
  };
}

/**
 * The usage windows in a model response's `x-codex-*` headers (CODEX-PROTOCOL §5), or null when
 * the response carries none of them (then the last snapshot stays as it was).
 */
export function parseRateLimitHeaders(headers: Headers, now: number): RateLimitSnapshot | null {
  const primary = windowFromHeaders(headers, 'primary', now);
  const secondary = windowFromHeaders(headers, 'secondary', now);
  const hasCredits = flag(headers.get(`${HEADER_PREFIX}credits-has-credits`));
  const unlimited = flag(headers.get(`${HEADER_PREFIX}credits-unlimited`));
  const balance = headers.get(`${HEADER_PREFIX}credits-balance`);
  const credits =
    hasCredits === null && unlimited === null && balance === null ? null : { hasCredits, unlimited, balance };
  return snapshotOf(now, { primary, secondary, credits, planType: null });
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function numberField(obj: Record<string, unknown>, key: string): number | null {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function windowFromEvent(value: unknown, now: number): RateLimitWindow | null {
  const w = record(value);
  const usedPercent = w && numberField(w, 'used_percent');
  if (!w || usedPercent === null) return null;
  return {
    usedPercent,
    windowMinutes: numberField(w, 'window_minutes'),
    resetsAt: resetTime(numberField(w, 'reset_at') ?? numberField(w, 'resets_at'),
      numberField(w, 'reset_after_seconds') ?? numberField(w, 'resets_in_seconds'), now),
  };
}

/** Credits as the stream event and the usage endpoint spell them (`has_credits`, `unlimited`, `balance`). */
function creditsFromJson(value: unknown): RateLimitSnapshot['credits'] {
  const c = record(value);
  if (!c) return null;
  return {
    hasCredits: typeof c.has_credits === 'boolean' ? c.has_credits : null,
    unlimited: typeof c.unlimited === 'boolean' ? c.unlimited : null,
    balance: typeof c.balance === 'string' || typeof c.balance === 'number' ? String(c.balance) : null,
  };
}

/** A snapshot, or null when it carries no window and no credits (the last one then stays). */
function snapshotOf(now: number, parts: Omit<RateLimitSnapshot, 'capturedAt'>): RateLimitSnapshot | null {
  if (!parts.primary && !parts.secondary && !parts.credits) return null;
  return { capturedAt: now, ...parts };
}

/** The same snapshot from a newer backend's `codex.rate_limits` stream event, or null. */
export function parseRateLimitEvent(data: Record<string, unknown>, now: number): RateLimitSnapshot | null {
  const limits = record(data.rate_limits);
  return snapshotOf(now, {
    primary: windowFromEvent(limits?.primary, now),
    secondary: windowFromEvent(limits?.secondary, now),
    credits: creditsFromJson(data.credits),
    planType: typeof data.plan_type === 'string' ? data.plan_type : null,
  });
}

function windowFromUsage(value: unknown, now: number): RateLimitWindow | null {
  const w = record(value);
  const usedPercent = w && numberField(w, 'used_percent');
  if (!w || usedPercent === null) return null;
  const seconds = numberField(w, 'limit_window_seconds');
  return {
    usedPercent,
    windowMinutes: seconds === null ? null : Math.round(seconds / 60),
    resetsAt: resetTime(numberField(w, 'reset_at'), numberField(w, 'reset_after_seconds'), now),
  };
}

/** The snapshot in a usage-endpoint body (`GET /backend-api/wham/usage`), or null. */
export function parseUsageBody(body: unknown, now: number): RateLimitSnapshot | null {
  const root = record(body);
  if (!root) return null;
  const limits = record(root.rate_limit);
  return snapshotOf(now, {
    primary: windowFromUsage(limits?.primary_window, now),
    secondary: windowFromUsage(limits?.secondary_window, now),
    credits: creditsFromJson(root.credits),
    planType: typeof root.plan_type === 'string' ? root.plan_type : null,
  });
}

/**
 * The snapshot to keep after `next` arrives. Headers carry no plan and events may carry no
 * credits, so a field the newer source lacks keeps its earlier value instead of being erased.
 */
export function mergeRateLimits(previous: RateLimitSnapshot | null, next: RateLimitSnapshot): RateLimitSnapshot {
  if (!previous) return next;
  return { ...next, planType: next.planType ?? previous.planType, credits: next.credits ?? previous.credits };
}

/** A usage window as the usage endpoint spells it: whole percent and whole seconds. */
export interface CodexUsageWindow {
  used_percent: number;
  limit_window_seconds: number;
  reset_after_seconds: number;
  /** Epoch seconds. */
  reset_at: number;
}

/** The usage endpoint's body (`/backend-api/wham/usage`, `/api/codex/usage`), as Codex CLI reads it. */
export interface CodexUsageBody {
  plan_type: string;
  rate_limit: { allowed: boolean; limit_reached: boolean; primary_window: CodexUsageWindow | null; secondary_window: CodexUsageWindow | null };
  credits: { has_credits: boolean; unlimited: boolean; balance: string | null } | null;
}

function usageWindowOf(window: RateLimitWindow | null, now: number): CodexUsageWindow | null {
  if (!window) return null;
  const resetAt = window.resetsAt ?? now;
  return {
    used_percent: Math.round(window.usedPercent),
    limit_window_seconds: Math.round((window.windowMinutes ?? 0) * 60),
    reset_after_seconds: Math.max(0, Math.round((resetAt - now) / 1000)),
    reset_at: Math.round(resetAt / 1000),
  };
}

/**
 * A snapshot written back in the usage endpoint's shape (the inverse of parseUsageBody), for
 * clients that read the account's limits from us. A window at 100 % means the limit is reached.
 */
export function codexUsageBody(snapshot: RateLimitSnapshot, planType: string | null, now: number): CodexUsageBody {
  const limitReached = [snapshot.primary, snapshot.secondary].some((w) => w !== null && w.usedPercent >= 100);
  const credits = snapshot.credits;
  return {
    plan_type: snapshot.planType ?? planType ?? 'unknown',
    rate_limit: {
      allowed: !limitReached,
      limit_reached: limitReached,
      primary_window: usageWindowOf(snapshot.primary, now),
      secondary_window: usageWindowOf(snapshot.secondary, now),
    },
    credits: credits && { has_credits: credits.hasCredits ?? false, unlimited: credits.unlimited ?? false, balance: credits.balance },
  };
}
