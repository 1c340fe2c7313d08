/**
 * Per-key limits as a client meets them: requests and tokens per UTC day, a model allowlist and
 * an expiry date, enforced by the user's AuthBroker (exact under concurrency), with OpenAI-shaped
 * errors that name the limit and when it resets.
 */
import { createExecutionContext, evictDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import app from '../../../worker/index.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';
import { keyIdOf, setLimits } from '../helpers/key-limits.ts';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string; resets_at?: number; resets_in_seconds?: number };
}

/** One request through the real Worker, read to its end, with its after-the-answer work awaited. */
async function send(user: SeededUser, path: string, json: unknown): Promise<{ res: Response; text: string }> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://usemysub.test${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(json),
  }), env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { res, text };
}

const hello = { model: 'gpt-5.5', input: 'hello' };

function secondsToMidnight(): number {
  const now = Date.now();
  return Math.ceil((86_400_000 - (now % 86_400_000)) / 1000);
}

describe('requests per day', () => {
  it('lets exactly the limit through when 20 requests arrive at once', async () => {
    const user = await seedUser();
    await setLimits(user, { maxRequestsPerDay: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(user, '/v1/responses', hello)));
    const statuses = answers.map(({ res }) => res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect((await user.fake.requests(user.accountId)).length).toBe(5);

    const refused = answers.find(({ res }) => res.status === 429)!;
    const body = JSON.parse(refused.text) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'usage_limit_reached', code: 'key_request_limit_reached', param: null });
    expect(body.error.message).toMatch(/limit of 5 requests per day/);
    expect(body.error.message).toMatch(/resets at 00:00 UTC/);
    const retryAfter = Number(refused.res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(secondsToMidnight() + 1);
    expect(body.error.resets_in_seconds).toBe(retryAfter);
    // Retrying before the reset cannot help: the OpenAI SDKs obey this instead of their 429 retries.
    expect(refused.res.headers.get('x-should-retry')).toBe('false');
  });

  it("keeps the day's count across a restart of the user's broker", async () => {
    const user = await seedUser();
    await setLimits(user, { maxRequestsPerDay: 2 });
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    await evictDurableObject(env.AUTH_BROKER.getByName(user.userId));
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(429);
  }, 20_000);

  it('counts Chat Completions and Responses requests together, and raising the limit applies at once', async () => {
    const user = await seedUser();
    await setLimits(user, { maxRequestsPerDay: 2 });
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }] })).res.status).toBe(200);
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(429);
    await setLimits(user, { maxRequestsPerDay: 3 });
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    await setLimits(user, {});
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
  });

  it('does not count a request that never reached the model, nor listing the models', async () => {
    const user = await seedUser();
    await setLimits(user, { maxRequestsPerDay: 1 });
    expect((await send(user, '/v1/responses', { model: 'no-such-model', input: 'x' })).res.status).toBe(404);
    expect((await send(user, '/v1/responses', { input: 'no model' })).res.status).toBe(400);
    const ctx = createExecutionContext();
    const models = await app.fetch(new Request('https://usemysub.test/v1/models', { headers: { Authorization: `Bearer ${user.apiKey}` } }), env, ctx);
    expect(models.status).toBe(200);
    await waitOnExecutionContext(ctx);
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(429);
  });
});

describe('tokens per day', () => {
  it('refuses the requests after the answer that reached the limit', async () => {
    const user = await seedUser();
    await setLimits(user, { maxTokensPerDay: 150 });
    const usage = { input_tokens: 100, input_tokens_details: { cached_tokens: 20 }, output_tokens: 60, output_tokens_details: { reasoning_tokens: 10 }, total_tokens: 160 };
    await user.fake.scriptResponses(user.accountId, [{ kind: 'ok', usage: { ...usage, input_tokens: 40, output_tokens: 10, total_tokens: 50 } }, { kind: 'ok', usage }]);
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    // 50 of 150: the next one is let through, and its answer (160 more) crosses the limit.
    expect((await send(user, '/v1/responses', { ...hello, stream: true })).res.status).toBe(200);
    const { res, text } = await send(user, '/v1/chat/completions', { model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(429);
    const body = JSON.parse(text) as ErrorBody;
    expect(body.error.code).toBe('key_token_limit_reached');
    expect(body.error.message).toMatch(/limit of 150 tokens per day/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await env.AUTH_BROKER.getByName(user.userId).keyUsageToday(user.userId, await keyIdOf(user))).toEqual({ requests: 2, tokens: 210 });
  });
});

describe('model allowlist', () => {
  it('serves the models on the list, an effort alias of one included, and refuses the others by name', async () => {
    const user = await seedUser();
    await setLimits(user, { allowedModels: ['gpt-5.5'] });
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5-high', messages: [{ role: 'user', content: 'hi' }] })).res.status).toBe(200);
    const { res, text } = await send(user, '/v1/responses', { model: 'gpt-5.6-sol', input: 'hi' });
    expect(res.status).toBe(403);
    const body = JSON.parse(text) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
    expect(body.error.message).toMatch(/may not use the model 'gpt-5\.6-sol'.*gpt-5\.5/);
    expect((await user.fake.requests(user.accountId)).length).toBe(2);
  });
});

describe('expiry', () => {
  it('refuses an expired key with its own error, and an extended one works again at once', async () => {
    const user = await seedUser();
    await setLimits(user, { expiresAt: Date.UTC(2026, 0, 2, 3, 4) });
    const { res, text } = await send(user, '/v1/responses', hello);
    expect(res.status).toBe(401);
    const body = JSON.parse(text) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'authentication_error', code: 'key_expired' });
    expect(body.error.message).toMatch(/expired on 2026-01-02 03:04 UTC/);
    await setLimits(user, { expiresAt: Date.now() + 86_400_000 });
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
  });
});

describe('revocation', () => {
  it('refuses the key from the moment the dashboard revokes it, even with requests in between', async () => {
    const user = await seedUser();
    expect((await send(user, '/v1/responses', hello)).res.status).toBe(200);
    expect(await env.AUTH_BROKER.getByName(user.userId).revokeKey(user.userId, await keyIdOf(user))).toBe(true);
    const { res, text } = await send(user, '/v1/responses', hello);
    expect(res.status).toBe(401);
    expect((JSON.parse(text) as ErrorBody).error.code).toBe('invalid_api_key');
  });
});

describe('limits on the Anthropic surface', () => {
  it("refuse /v1/messages in Anthropic's shape: a 429 rate_limit_error naming the limit, and a model outside the allowlist", async () => {
    const user = await seedUser();
    await setLimits(user, { maxRequestsPerDay: 1 });
    const ask = { model: 'gpt-5.5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
    expect((await send(user, '/v1/messages', ask)).res.status).toBe(200);
    const over = await send(user, '/v1/messages', ask);
    expect(over.res.status).toBe(429);
    const body = JSON.parse(over.text) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(body.error.message).toMatch(/limit of 1 requests? per day/);
    expect(Number(over.res.headers.get('retry-after'))).toBeGreaterThan(0);

    await setLimits(user, { allowedModels: ['gpt-5.4'] });
    const other = await send(user, '/v1/messages', ask);
    expect(other.res.status).toBe(403);
    expect(JSON.parse(other.text)).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect((await user.fake.requests(user.accountId)).length).toBe(1);
  });
});
