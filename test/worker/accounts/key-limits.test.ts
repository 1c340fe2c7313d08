/** The pure rules of per-key limits: UTC days, the boundary, and what the errors say. */
import { describe, expect, it } from 'vitest';
import { checkKey, checkModelAllowed, keyRefusalError, parseAllowedModels, utcDayStart, type KeyPolicy } from '../../../worker/accounts/key-limits.ts';
import { checkLimitsForm } from '../../../worker/web/key-limits.ts';

const policy = (limits: Partial<KeyPolicy> = {}): KeyPolicy => ({
  keyId: 'k', revoked: false, expiresAt: null, maxRequestsPerDay: null, maxTokensPerDay: null, allowedModels: null, ...limits,
});
const NOON = Date.UTC(2026, 11, 3, 12, 0);

describe('day limits', () => {
  it('count UTC days, whatever the time of day', () => {
    expect(utcDayStart(NOON)).toBe(Date.UTC(2026, 11, 3));
    expect(utcDayStart(Date.UTC(2026, 11, 3, 23, 59, 59, 999))).toBe(Date.UTC(2026, 11, 3));
    expect(utcDayStart(Date.UTC(2026, 11, 4))).toBe(Date.UTC(2026, 11, 4));
  });

  it('let the request that reaches the limit through and refuse the next, resetting at midnight UTC', () => {
    const limited = policy({ maxRequestsPerDay: 5 });
    expect(checkKey(limited, { requests: 4, tokens: 0 }, NOON, true)).toBeNull();
    expect(checkKey(limited, { requests: 5, tokens: 0 }, NOON, true)).toEqual({ reason: 'requests', limit: 5, resetsAt: Date.UTC(2026, 11, 4) });
    // Listing models is not a model request: only the key itself is checked.
    expect(checkKey(limited, { requests: 5, tokens: 0 }, NOON, false)).toBeNull();
    expect(checkKey(policy({ maxTokensPerDay: 100 }), { requests: 0, tokens: 100 }, NOON, true)).toMatchObject({ reason: 'tokens', limit: 100 });
  });

  it('word the 429 with the limit, the reset and Retry-After', () => {
    const error = keyRefusalError({ reason: 'requests', limit: 5, resetsAt: Date.UTC(2026, 11, 4) }, NOON, 'x');
    expect(error.status).toBe(429);
    expect(error.code).toBe('key_request_limit_reached');
    expect(error.message).toBe("This API key has reached its limit of 5 requests per day. It resets at 00:00 UTC, in 12 h. Change the key's limits on your dashboard.");
    expect(error.headers['Retry-After']).toBe('43200');
    expect(error.headers['x-should-retry']).toBe('false');
    const soon = keyRefusalError({ reason: 'tokens', limit: 1000, resetsAt: NOON + 90_000 }, NOON, 'x');
    expect(soon.message).toContain('in 2 minutes');
    expect(soon.toBody().error).toMatchObject({ code: 'key_token_limit_reached', resets_in_seconds: 90 });
    expect(soon.message).toContain('limit of 1,000 tokens per day');
    expect(keyRefusalError({ reason: 'requests', limit: 1, resetsAt: NOON + 60_000 }, NOON, 'x').message).toContain('limit of 1 request per day');
  });
});

describe('expiry and revocation', () => {
  it('refuse from the expiry instant on, and revocation before anything else', () => {
    const expiring = policy({ expiresAt: NOON });
    expect(checkKey(expiring, { requests: 0, tokens: 0 }, NOON - 1, false)).toBeNull();
    expect(checkKey(expiring, { requests: 0, tokens: 0 }, NOON, false)).toEqual({ reason: 'expired', expiresAt: NOON });
    expect(checkKey({ ...expiring, revoked: true }, { requests: 0, tokens: 0 }, NOON, true)).toEqual({ reason: 'revoked' });
    expect(keyRefusalError({ reason: 'expired', expiresAt: NOON }, NOON, 'x').message).toContain('expired on 2026-12-03 12:00 UTC');
  });
});

describe('the model allowlist', () => {
  it('accepts the requested id or the served model, case-insensitively, and names the allowed ones otherwise', () => {
    expect(() => checkModelAllowed(null, 'anything', 'anything')).not.toThrow();
    expect(() => checkModelAllowed(['gpt-5.5'], 'GPT-5.5-high', 'gpt-5.5')).not.toThrow();
    expect(() => checkModelAllowed(['gpt-5.5', 'gpt-5.4'], 'gpt-5.6-sol', 'gpt-5.6-sol')).toThrow(/may not use the model 'gpt-5\.6-sol'\. Models allowed for this key: gpt-5\.5, gpt-5\.4/);
  });

  it('reads a stored list, and treats an unreadable one as no list rather than a locked key', () => {
    expect(parseAllowedModels('["gpt-5.5",3]')).toEqual(['gpt-5.5']);
    expect(parseAllowedModels('not json')).toBeNull();
    expect(parseAllowedModels(null)).toBeNull();
  });
});

describe('the limits form', () => {
  const form = { requests: '', tokens: '', models: '', expires: '' };

  it('turns empty fields into no limit, and thousands separators and new lines into values', () => {
    expect(checkLimitsForm(form, NOON, null)).toEqual({ ok: true, limits: { maxRequestsPerDay: null, maxTokensPerDay: null, allowedModels: null, expiresAt: null } });
    expect(checkLimitsForm({ requests: '1,000', tokens: '2 000 000', models: 'GPT-5.5\n gpt-5.5, gpt-5.4', expires: '2026-12-03' }, NOON, ['gpt-5.5', 'gpt-5.4'])).toEqual({
      ok: true,
      limits: { maxRequestsPerDay: 1000, maxTokensPerDay: 2_000_000, allowedModels: ['gpt-5.5', 'gpt-5.4'], expiresAt: Date.UTC(2026, 11, 4) },
    });
  });

  it('refuses what cannot be a limit, with a message per field', () => {
    const checked = checkLimitsForm({ requests: '-1', tokens: '1.5', models: 'bad id!', expires: '2026-12-02' }, NOON, null);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(Object.keys(checked.errors).sort()).toEqual(['expires', 'models', 'requests', 'tokens']);
    expect(checked.errors.models).toContain('“id!” is not a model id');
    expect(checkLimitsForm({ ...form, models: 'gpt-5.5-high' }, NOON, ['gpt-5.5']).ok).toBe(true);
  });
});
