/**
 * Usage over the API with the proxy key: `GET /v1/usage` sums the key_usage rows of the key and
 * of the whole account, with the account's windows and the key's limits; the Codex-style
 * `/backend-api/wham/usage` and `/api/codex/usage` answer from the account's latest snapshot, or
 * read it through the relay when it is stale. Another user's rows never count.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApiKey } from '../../../worker/accounts/api-keys.ts';
import { listApiKeys } from '../../../worker/db/api-keys.ts';
import { findOrCreateUser } from '../../../worker/db/users.ts';
import type { RateLimitSnapshot } from '../../../worker/upstream/rate-limits.ts';
import type { UsageBody } from '../../support/fake-codex/types.ts';
import { insertKeyUsage } from '../helpers/key-usage.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function get(path: string, key: string | null, method = 'GET'): Promise<Response> {
  const headers = new Headers(key ? { Authorization: `Bearer ${key}` } : {});
  return exports.default.fetch(new Request(`https://usemysub.test${path}`, { method, headers }));
}

async function keyIdOf(user: SeededUser): Promise<string> {
  const [key] = await listApiKeys(env.DB, user.userId);
  if (!key) throw new Error('no key');
  return key.id;
}

function usageBody(now: number, primary: number, secondary: number): UsageBody {
  const s = Math.floor(now / 1000);
  return {
    plan_type: 'pro',
    rate_limit: {
      allowed: true,
      limit_reached: false,
      primary_window: { used_percent: primary, limit_window_seconds: 18_000, reset_after_seconds: 1_200, reset_at: s + 1_200 },
      secondary_window: { used_percent: secondary, limit_window_seconds: 604_800, reset_after_seconds: 86_400, reset_at: s + 86_400 },
    },
    credits: { has_credits: false, unlimited: false, balance: '0' },
  };
}

function usageFetches(user: SeededUser) {
  return user.fake.usageRequests(user.accountId).then((requests) => requests.length);
}

describe('GET /v1/usage', () => {
  it('sums the rows of this key and of the account over 24 hours and 30 days, with the windows, plan and limits', async () => {
    const user = await seedUser();
    const keyId = await keyIdOf(user);
    const other = await createApiKey(env, user.userId, 'other key');
    const stranger = await seedUser();
    const now = Date.now();
    await user.fake.setUsage(user.accountId, usageBody(now, 42, 77));
    await insertKeyUsage([
      { userId: user.userId, keyId, at: now, requests: 3, failed: 1, input: 1_000, cached: 400, output: 200, reasoning: 50 },
      { userId: user.userId, keyId, at: now, model: 'gpt-5.4', effort: 'high', requests: 1, input: 10, output: 5 },
      { userId: user.userId, keyId, at: now - 5 * HOUR, requests: 2, input: 300, output: 30 },
      { userId: user.userId, keyId, at: now - 6 * DAY, requests: 5, input: 5_000, output: 500, reasoning: 100 },
      // Outside both ranges.
      { userId: user.userId, keyId, at: now - 45 * DAY, requests: 99, input: 99_999 },
      { userId: user.userId, keyId: other.id, at: now - HOUR, requests: 7, input: 70, output: 7 },
      { userId: stranger.userId, keyId: await keyIdOf(stranger), at: now, requests: 1_000, input: 1_000_000 },
    ]);
    await env.DB.prepare('UPDATE api_keys SET max_requests_per_day = 100, allowed_models = ?, expires_at = ? WHERE id = ?')
      .bind(JSON.stringify(['gpt-5.5']), now + 7 * DAY, keyId).run();

    const res = await get('/v1/usage', user.apiKey);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      object: 'usage',
      plan: 'pro',
      windows: {
        primary: { used_percent: 42, window_minutes: 300, resets_at: expect.any(Number) },
        secondary: { used_percent: 77, window_minutes: 10_080 },
      },
      key: {
        id: keyId,
        name: 'test key',
        limits: { max_requests_per_day: 100, max_tokens_per_day: null, allowed_models: ['gpt-5.5'], expires_at: Math.floor((now + 7 * DAY) / 1000) },
        usage: {
          last_24h: { requests: 6, failed: 1, input_tokens: 1_310, cached_input_tokens: 400, output_tokens: 235, reasoning_tokens: 50, total_tokens: 1_545 },
          last_30d: { requests: 11, failed: 1, input_tokens: 6_310, cached_input_tokens: 400, output_tokens: 735, reasoning_tokens: 150, total_tokens: 7_045 },
        },
      },
      account: {
        usage: {
          last_24h: { requests: 13, input_tokens: 1_380, output_tokens: 242, total_tokens: 1_622 },
          last_30d: { requests: 18, input_tokens: 6_380, output_tokens: 742, total_tokens: 7_122 },
        },
      },
    });

    // The stranger sees only their own row.
    const theirs = (await (await get('/v1/usage', stranger.apiKey)).json()) as { account: { usage: { last_30d: { requests: number } } } };
    expect(theirs.account.usage.last_30d.requests).toBe(1_000);
  });

  it('shows zeros and no windows for a key whose account is not connected', async () => {
    const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, Date.now());
    const key = await createApiKey(env, user.id, 'lonely');
    const body = (await (await get('/v1/usage', key.key)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ plan: null, windows: null, key: { usage: { last_24h: { requests: 0, total_tokens: 0 } } } });
  });

  it('needs the proxy key', async () => {
    expect((await get('/v1/usage', null)).status).toBe(401);
    expect((await get('/v1/usage', (await seedUser()).apiKey, 'POST')).status).toBe(405);
  });
});

describe('the Codex-style usage endpoints', () => {
  for (const path of ['/backend-api/wham/usage', '/api/codex/usage']) {
    it(`${path} answers from a fresh snapshot without asking ChatGPT`, async () => {
      const user = await seedUser();
      const now = Date.now();
      const snapshot: RateLimitSnapshot = {
        capturedAt: now,
        primary: { usedPercent: 100, windowMinutes: 300, resetsAt: now + 600_000 },
        secondary: { usedPercent: 12.4, windowMinutes: 10_080, resetsAt: now + 3 * DAY },
        credits: { hasCredits: true, unlimited: false, balance: '5.39' },
        planType: 'plus',
      };
      await env.AUTH_BROKER.getByName(user.userId).recordRateLimits(user.userId, snapshot);
      const before = await usageFetches(user);

      const res = await get(path, user.apiKey);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        plan_type: 'plus',
        rate_limit: {
          allowed: false,
          limit_reached: true,
          primary_window: { used_percent: 100, limit_window_seconds: 18_000, reset_after_seconds: expect.closeTo(600, -1), reset_at: Math.round((now + 600_000) / 1000) },
          secondary_window: { used_percent: 12, limit_window_seconds: 604_800, reset_after_seconds: expect.closeTo(3 * 86_400, -1), reset_at: Math.round((now + 3 * DAY) / 1000) },
        },
        credits: { has_credits: true, unlimited: false, balance: '5.39' },
      });
      expect(await usageFetches(user)).toBe(before);
    });
  }

  it('reads a stale snapshot again through the relay, and the broker remembers the new one', async () => {
    const user = await seedUser();
    const now = Date.now();
    await env.AUTH_BROKER.getByName(user.userId).recordRateLimits(user.userId, {
      capturedAt: now - HOUR, primary: { usedPercent: 3, windowMinutes: 300, resetsAt: now }, secondary: null, credits: null, planType: 'plus',
    });
    await user.fake.setUsage(user.accountId, usageBody(now, 64, 20));
    const res = await get('/backend-api/wham/usage', user.apiKey);
    expect(res.status).toBe(200);
    const body = (await res.json()) as UsageBody;
    expect(body.plan_type).toBe('pro');
    expect(body.rate_limit).toMatchObject({ allowed: true, limit_reached: false, primary_window: { used_percent: 64 }, secondary_window: { used_percent: 20 } });
    const [read] = await user.fake.usageRequests(user.accountId);
    // Through the relay, with the account's own token and id: what a real usage read needs.
    expect(read?.url).toBe('/backend-api/wham/usage');
    expect(read?.headers.authorization).not.toContain(user.apiKey);
    expect(read?.headers['chatgpt-account-id']).toBe(user.accountId);
    await expect.poll(async () => (await env.AUTH_BROKER.getByName(user.userId).getRateLimits(user.userId))?.primary?.usedPercent).toBe(64);
  });

  it('says so when there are no figures and ChatGPT cannot be read, and refuses a missing key', async () => {
    const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, Date.now());
    const key = await createApiKey(env, user.id, 'unconnected');
    const res = await get('/api/codex/usage', key.key);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/no usage figures/);
    expect((await get('/api/codex/usage', null)).status).toBe(401);
    expect((await get('/backend-api/wham/usage', key.key, 'POST')).status).toBe(405);
  });
});
