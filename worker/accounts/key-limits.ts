/**
 * Pure policy for the limits a user sets on a proxy key: requests and tokens per UTC day, a
 * model allowlist and an expiry date. The AuthBroker keeps the counts and decides under its
 * serialization; this module says what the limits mean and words the errors.
 */
import type { ApiKeyRow } from '../db/api-keys.ts';
import { ApiError } from '../shared/errors.ts';

const DAY_MS = 24 * 60 * 60_000;

/** A key as the broker enforces it: what D1 says, in the shape the checks need. */
export interface KeyPolicy {
  keyId: string;
  revoked: boolean;
  expiresAt: number | null;
  maxRequestsPerDay: number | null;
  maxTokensPerDay: number | null;
  /** Model ids the key may use; null: every model of the account. */
  allowedModels: string[] | null;
}

/** What one key used on one UTC day: admitted model requests (in flight included) and tokens answered. */
export interface DayCount {
  requests: number;
  tokens: number;
}

/** Why the broker refused a key; the Worker turns it into an ApiError (`keyRefusal`). */
export type KeyRefusal =
  | { reason: 'unknown' | 'revoked' }
  | { reason: 'expired'; expiresAt: number }
  | { reason: 'requests'; limit: number; resetsAt: number }
  | { reason: 'tokens'; limit: number; resetsAt: number };

export function policyFromRow(row: ApiKeyRow): KeyPolicy {
  return {
    keyId: row.id,
    revoked: row.revoked_at !== null,
    expiresAt: row.expires_at,
    maxRequestsPerDay: row.max_requests_per_day,
    maxTokensPerDay: row.max_tokens_per_day,
    allowedModels: parseAllowedModels(row.allowed_models),
  };
}

/** The stored allowlist (a JSON array of ids); anything unreadable means no allowlist rather than a locked key. */
export function parseAllowedModels(raw: string | null): string[] | null {
  if (raw === null) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : null;
  } catch {
    return null;
  }
}

/** Epoch ms of the start of the UTC day holding `now`: day limits count from there. */
export function utcDayStart(now: number): number {
  return now - (((now % DAY_MS) + DAY_MS) % DAY_MS);
}

/**
 * Whether `policy` admits one more request at `now`, given the day's count so far. `modelRequest`
 * is false for requests that never reach the model (the catalog): only the key itself is checked.
 */
export function checkKey(policy: KeyPolicy, count: DayCount, now: number, modelRequest: boolean): KeyRefusal | null {
  if (policy.revoked) return { reason: 'revoked' };
  if (policy.expiresAt !== null && now >= policy.expiresAt) return { reason: 'expired', expiresAt: policy.expiresAt };
  if (!modelRequest) return null;
  const resetsAt = utcDayStart(now) + DAY_MS;
  if (policy.maxRequestsPerDay !== null && count.requests >= policy.maxRequestsPerDay) {
    return { reason: 'requests', limit: policy.maxRequestsPerDay, resetsAt };
  }
  if (policy.maxTokensPerDay !== null && count.tokens >= policy.maxTokensPerDay) {
    return { reason: 'tokens', limit: policy.maxTokensPerDay, resetsAt };
  }
  return null;
}

/**
 * The model check: passes when the allowlist names the id the client asked for or the model it is
 * served with (an effort alias such as `gpt-5.5-high` is served as `gpt-5.5`), case-insensitively.
 */
export function checkModelAllowed(allowedModels: readonly string[] | null, model: string, servedModel: string): void {
  if (allowedModels === null) return;
  const wanted = new Set([model.trim().toLowerCase(), servedModel.trim().toLowerCase()]);
  if (allowedModels.some((id) => wanted.has(id.trim().toLowerCase()))) return;
  const list = allowedModels.length > 0 ? allowedModels.join(', ') : 'none';
  throw new ApiError('model_not_allowed', `This API key may not use the model '${model}'. Models allowed for this key: ${list}. Change the key's limits on your dashboard.`, {
    param: 'model',
  });
}

/** The ApiError for a refusal: 401 for unknown, revoked and expired keys, 429 with Retry-After for day limits. */
export function keyRefusalError(refusal: KeyRefusal, now: number, incorrectKeyMessage: string): ApiError {
  switch (refusal.reason) {
    case 'unknown':
    case 'revoked':
      return new ApiError('invalid_api_key', incorrectKeyMessage, { detail: `proxy key ${refusal.reason}` });
    case 'expired':
      return new ApiError('key_expired', `This API key expired on ${utcMinute(refusal.expiresAt)} UTC. Create a new key, or change this key's expiry on your dashboard.`);
    case 'requests':
    case 'tokens': {
      const seconds = Math.max(1, Math.ceil((refusal.resetsAt - now) / 1000));
      const unit = refusal.reason === 'requests' ? 'request' : 'token';
      const what = `${refusal.limit.toLocaleString('en-US')} ${unit}${refusal.limit === 1 ? '' : 's'}`;
      return new ApiError(refusal.reason === 'requests' ? 'key_request_limit_reached' : 'key_token_limit_reached',
        `This API key has reached its limit of ${what} per day. It resets at 00:00 UTC, in ${duration(seconds)}. Change the key's limits on your dashboard.`, {
          headers: { 'Retry-After': String(seconds) },
          limit: { resets_at: Math.floor(refusal.resetsAt / 1000), resets_in_seconds: seconds },
        });
    }
  }
}

function utcMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function duration(seconds: number): string {
  const total = Math.ceil(seconds / 60);
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  if (hours === 0) return minutes <= 1 ? 'less than a minute' : `${minutes} minutes`;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}
