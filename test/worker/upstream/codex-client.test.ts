import { env } from 'cloudflare:workers';
import { MODELS } from '../helpers/models.ts';
import { describe, expect, it, vi } from 'vitest';
import { openModelStream, sessionIdFor, type ModelRequest } from '../../../worker/upstream/codex-client.ts';
import { findOrCreateUser } from '../../../worker/db/users.ts';
import { ApiError } from '../../../worker/shared/errors.ts';
import { normalizeResponsesRequest } from '../../../worker/translate/responses-request.ts';
import type { EventFeed, SseEvent } from '../../../worker/translate/sse.ts';
import type { ResponseStep } from '../../support/fake-codex/types.ts';
import { seedUser } from '../helpers/seed-user.ts';
import { rejection } from '../helpers/rejection.ts';
import { drainFeed } from '../helpers/sse.ts';

function modelRequest(userId: string, extra: Partial<ModelRequest> = {}): ModelRequest & { pending: Promise<unknown>[] } {
  const pending: Promise<unknown>[] = [];
  return {
    userId,
    body: normalizeResponsesRequest({ model: 'gpt-5.5', input: 'hi' }, { models: MODELS }).body,
    promptCacheKey: null,
    waitUntil: (p) => pending.push(p),
    pending,
    ...extra,
  };
}

async function scripted(steps: ResponseStep[]) {
  const user = await seedUser();
  await user.fake.scriptResponses(user.accountId, steps);
  return user;
}

async function drain(feed: EventFeed): Promise<SseEvent[]> {
  const { events, error } = await drainFeed(feed);
  if (error) throw error;
  return events;
}

describe('openModelStream', () => {
  it('returns the parsed upstream events, Codex-only ones included for the caller to use', async () => {
    const user = await seedUser();
    const request = modelRequest(user.userId);
    const events = await drain(await openModelStream(env, request));
    expect(events[0]?.type).toBe('response.created');
    expect(events.at(-1)?.type).toBe('response.completed');
    await Promise.all(request.pending);
  });

  it('gives up waiting for response headers after the timeout with a 504', async () => {
    const user = await scripted([{ kind: 'hang', beforeHeaders: true }]);
    const err = await rejection(openModelStream(env, modelRequest(user.userId), { headersTimeoutMs: 200 }));
    expect(err).toMatchObject({ status: 504, code: 'upstream_timeout' });
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const user = await scripted([{ kind: 'hang' }]);
    const client = new AbortController();
    const feed = await openModelStream(env, modelRequest(user.userId, { signal: client.signal }));
    const pendingRead = feed.read();
    client.abort();
    await expect(pendingRead).rejects.toBeDefined();
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).aborted).toBe(1), { timeout: 5000 });
  }, 20_000);

  it('does not call upstream at all when the client is already gone', async () => {
    const user = await seedUser();
    const client = new AbortController();
    client.abort();
    await expect(openModelStream(env, modelRequest(user.userId, { signal: client.signal }))).rejects.toBeInstanceOf(ApiError);
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });

  it('asks the user to reconnect when upstream refuses a freshly refreshed token too', async () => {
    const user = await scripted([{ kind: 'unauthorized' }, { kind: 'unauthorized' }]);
    const err = await rejection(openModelStream(env, modelRequest(user.userId)));
    expect(err).toMatchObject({ status: 401, code: 'codex_reauth_required' });
    expect(err.message).toMatch(/\/onboarding/);
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(2);
  });

  it('asks a user without a ChatGPT link to connect one, without calling upstream', async () => {
    const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, Date.now());
    const err = await rejection(openModelStream(env, modelRequest(user.id)));
    expect(err).toMatchObject({ status: 401, code: 'codex_reauth_required' });
  });

  it('records a codex.rate_limits event from the stream in the broker', async () => {
    const user = await seedUser();
    await user.fake.setRateLimits(user.accountId, {
      'x-codex-secondary-used-percent': '12',
      'x-codex-secondary-window-minutes': '10080',
    });
    const request = modelRequest(user.userId);
    await drain(await openModelStream(env, request));
    await Promise.all(request.pending);
    const snapshot = await env.AUTH_BROKER.getByName(user.userId).getRateLimits(user.userId);
    expect(snapshot?.secondary).toMatchObject({ usedPercent: 12, windowMinutes: 10080 });
    // Only the event names the plan (headers do not), so this snapshot came from the stream.
    expect(snapshot?.planType).toBe('plus');
  });
});

describe('session ids', () => {
  it('derives the same UUID-shaped id from the same prompt_cache_key, and different ones otherwise', async () => {
    const a = await sessionIdFor('conv-1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await sessionIdFor('conv-1')).toBe(a);
    expect(await sessionIdFor('conv-2')).not.toBe(a);
    expect(a).not.toContain('conv');
  });
});
