/**
 * The per-key limits form (`/dashboard/keys/:id/limits`): what the fields mean, their
 * validation, and how stored limits are shown again. Pure: the routes do the I/O.
 */
import type { ApiKeyLimits, ApiKeyRow } from '../db/api-keys.ts';

const DAY_MS = 24 * 60 * 60_000;
export const MAX_REQUESTS_PER_DAY = 1_000_000;
export const MAX_TOKENS_PER_DAY = 10_000_000_000;
export const MAX_ALLOWED_MODELS = 50;
/** The latest expiry accepted, from today. */
const MAX_EXPIRY_MS = 10 * 365 * DAY_MS;
const MODEL_ID = /^[a-z0-9][a-z0-9._:-]{0,79}$/;

/** The form as typed (every field a string; empty means "no limit"). */
export interface LimitsForm {
  requests: string;
  tokens: string;
  models: string;
  /** `YYYY-MM-DD`: the key works until the end of this UTC day. */
  expires: string;
}

export type LimitsErrors = Partial<Record<keyof LimitsForm, string>>;
export type LimitsCheck = { ok: true; limits: ApiKeyLimits } | { ok: false; errors: LimitsErrors };

export const EMPTY_FORM: LimitsForm = { requests: '', tokens: '', models: '', expires: '' };

/** The stored limits as the form shows them. */
export function formOf(key: ApiKeyRow, allowedModels: string[] | null): LimitsForm {
  return {
    requests: key.max_requests_per_day === null ? '' : String(key.max_requests_per_day),
    tokens: key.max_tokens_per_day === null ? '' : String(key.max_tokens_per_day),
    models: allowedModels === null ? '' : allowedModels.join('\n'),
    expires: key.expires_at === null ? '' : new Date(key.expires_at - 1).toISOString().slice(0, 10),
  };
}

/**
 * Validates the form. `accountModels` (the account's model ids, when known) catches typos in the
 * allowlist; an effort alias of a listed model (`gpt-5.5-high`) is accepted too.
 */
export function checkLimitsForm(form: LimitsForm, now: number, accountModels: readonly string[] | null): LimitsCheck {
  const errors: LimitsErrors = {};
  const requests = wholeNumber(form.requests, MAX_REQUESTS_PER_DAY);
  if (requests === undefined) errors.requests = `Enter a whole number of requests from 1 to ${MAX_REQUESTS_PER_DAY.toLocaleString('en-US')}, or leave it empty for no limit.`;
  const tokens = wholeNumber(form.tokens, MAX_TOKENS_PER_DAY);
  if (tokens === undefined) errors.tokens = `Enter a whole number of tokens from 1 to ${MAX_TOKENS_PER_DAY.toLocaleString('en-US')}, or leave it empty for no limit.`;
  const models = modelList(form.models, accountModels);
  if (typeof models === 'string') errors.models = models;
  const expiresAt = expiry(form.expires, now);
  if (typeof expiresAt === 'string') errors.expires = expiresAt;
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    limits: {
      maxRequestsPerDay: requests ?? null,
      maxTokensPerDay: tokens ?? null,
      allowedModels: models as string[] | null,
      expiresAt: expiresAt as number | null,
    },
  };
}

/** null for empty, undefined for invalid. */
function wholeNumber(raw: string, max: number): number | null | undefined {
  const text = raw.replace(/[\s,_]/g, '');
  if (text === '') return null;
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= 1 && value <= max ? value : undefined;
}

function modelList(raw: string, accountModels: readonly string[] | null): string[] | null | string {
  const ids = [...new Set(raw.split(/[\s,]+/).map((id) => id.trim().toLowerCase()).filter((id) => id !== ''))];
  if (ids.length === 0) return null;
  if (ids.length > MAX_ALLOWED_MODELS) return `List at most ${MAX_ALLOWED_MODELS} models.`;
  const malformed = ids.find((id) => !MODEL_ID.test(id));
  if (malformed) return `“${malformed.slice(0, 80)}” is not a model id. Use ids such as gpt-5.5, separated by commas or new lines.`;
  if (accountModels) {
    const unknown = ids.filter((id) => !accountModels.some((slug) => id === slug || id.startsWith(`${slug}-`)));
    if (unknown.length > 0) {
      return `Your ChatGPT account has no model ${unknown.map((id) => `“${id}”`).join(', ')}. Its models: ${accountModels.join(', ')}.`;
    }
  }
  return ids;
}

/** Epoch ms the key stops working (the end of the chosen UTC day); null for empty; a message when invalid. */
function expiry(raw: string, now: number): number | null | string {
  const text = raw.trim();
  if (text === '') return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const start = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== text) {
    return 'Enter a date as YYYY-MM-DD, or leave it empty for a key that does not expire.';
  }
  const end = start + DAY_MS;
  if (end <= now) return 'Choose today or a later date. To stop a key now, revoke it.';
  if (end - now > MAX_EXPIRY_MS) return 'Choose a date within the next 10 years.';
  return end;
}
