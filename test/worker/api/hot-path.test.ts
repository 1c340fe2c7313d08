/**
 * The request path's budget (docs/architecture.md, "The hot path"): what a model request costs
 * in remote round trips before its upstream fetch starts. A regression here adds latency to
 * every request in production, where each round trip is milliseconds.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../worker/accounts/api-keys.ts';
import app from '../../../worker/index.ts';
import { countRoundTrips, type RoundTrips } from '../helpers/round-trips.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

let counting: RoundTrips | null = null;
afterEach(async () => {
  await counting?.restore();
  counting = null;
});

async function post(user: SeededUser, path: string, json: unknown, workerEnv: Env = env): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://usemysub.test${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(json),
  }), workerEnv, ctx);
  await res.text();
  await waitOnExecutionContext(ctx);
  return res;
}

const chat = { model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }], stream: true };
const responses = { model: 'gpt-5.5', input: 'hi' };
const messages = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }], stream: true };

describe('the hot path: remote round trips before the upstream fetch', () => {
  it.each([
    ['/v1/chat/completions', chat],
    ['/v1/responses', responses],
    ['/v1/messages', messages],
  ])('a warm %s costs one AuthBroker call and no D1 query', async (path, body) => {
    const user = await seedUser();
    expect((await post(user, path, body)).status).toBe(200);

    counting = await countRoundTrips(user.userId);
    expect((await post(user, path, body, counting.env)).status).toBe(200);
    expect(counting.beforeUpstream()).toEqual(['AUTH_BROKER.admit']);
    // After the answer: the usage record (and the rate-limit snapshot), never on the way.
    expect(counting.trips).toContain('AUTH_BROKER.recordUsage');
    expect(counting.trips.filter((trip) => trip === 'd1' || trip === 'broker-d1')).toEqual([]);
  });

  it('a key this isolate has not met yet costs one D1 read more, once', async () => {
    const user = await seedUser();
    expect((await post(user, '/v1/responses', responses)).status).toBe(200);
    // Another key of the same user: the broker is warm, this isolate has never seen the key.
    const second = { ...user, apiKey: (await createApiKey(env, user.userId, 'second')).key };
    counting = await countRoundTrips(user.userId);
    expect((await post(second, '/v1/responses', responses, counting.env)).status).toBe(200);
    // The broker reads the user's keys again: the new one was created after its last read.
    expect(counting.beforeUpstream()).toEqual(['d1', 'AUTH_BROKER.admit', 'broker-d1']);

    counting.trips.length = 0;
    expect((await post(second, '/v1/responses', responses, counting.env)).status).toBe(200);
    expect(counting.beforeUpstream()).toEqual(['AUTH_BROKER.admit']);
  });

  it("a user's very first request: the key from D1, then the broker, whose D1 reads go out together", async () => {
    const user = await seedUser();
    counting = await countRoundTrips(user.userId);
    expect((await post(user, '/v1/responses', responses, counting.env)).status).toBe(200);
    // The keys', the tokens' and the Claude model entries' reads leave side by side: one round trip's time.
    expect(counting.beforeUpstream()).toEqual(['d1', 'AUTH_BROKER.admit', 'broker-d1', 'broker-d1', 'broker-d1']);
  });
});
