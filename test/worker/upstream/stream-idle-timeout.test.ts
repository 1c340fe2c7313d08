import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import app from '../../../worker/index.ts';
import { idleTimeoutFrom, openModelStream, type ModelRequest } from '../../../worker/upstream/codex-client.ts';
import { chatSseStream } from '../../../worker/translate/chat-response.ts';
import { MODELS } from '../helpers/models.ts';
import { normalizeResponsesRequest } from '../../../worker/translate/responses-request.ts';
import { EventFeed, type SseEvent } from '../../../worker/translate/sse.ts';
import { drainFeed as drain, parseSseStream } from '../helpers/sse.ts';
import { upstreamIdleError } from '../../../worker/upstream/error-mapping.ts';
import type { ResponseStep } from '../../support/fake-codex/types.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

function modelRequest(userId: string): ModelRequest {
  return { userId, body: normalizeResponsesRequest({ model: 'gpt-5.5', input: 'hi' }, { models: MODELS }).body, promptCacheKey: null, waitUntil: () => {} };
}

async function scripted(steps: ResponseStep[]): Promise<SeededUser> {
  const user = await seedUser();
  await user.fake.scriptResponses(user.accountId, steps);
  return user;
}

/** The Worker with a short idle period, as an operator would set UPSTREAM_IDLE_TIMEOUT_MS. */
async function callWithIdle(user: SeededUser, path: string, body: unknown, idleMs: number): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`https://usemysub.test${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }),
    { ...env, UPSTREAM_IDLE_TIMEOUT_MS: String(idleMs) },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function sseOf(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const e of parseSseStream(res.body!)) events.push(e);
  return events;
}

describe('a stream that stops sending', () => {
  it('ends with a 504 upstream_timeout after the idle period and cancels the upstream request', async () => {
    const user = await scripted([{ kind: 'stall' }]);
    const { events, error } = await drain(await openModelStream(env, modelRequest(user.userId), { idleTimeoutMs: 300 }));
    expect(events[0]?.type).toBe('response.created');
    expect(error).toMatchObject({ status: 504, code: 'upstream_timeout', message: expect.stringMatching(/sent nothing for 300 ms/) });
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).aborted).toBe(1), { timeout: 5000 });
  });

  it('measures the silence between chunks, not the whole answer: a slow but steady stream completes', async () => {
    const user = await scripted([{ kind: 'slow', delayMs: 100 }]);
    const { events, error } = await drain(await openModelStream(env, modelRequest(user.userId), { idleTimeoutMs: 400 }));
    expect(error).toBeNull();
    // Far more events than fit into one idle period at 100 ms apart.
    expect(events.length).toBeGreaterThan(8);
    expect(events.at(-1)?.type).toBe('response.completed');
  });

  it('is not kept alive by the keep-alive comments we send the client', async () => {
    let cancelled = false;
    const silent = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1"}}\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const answer = chatSseStream(new EventFeed(silent, { ms: 400, error: () => upstreamIdleError(400) }), {
      id: 'chatcmpl-1', created: 0, model: 'gpt-5.5', includeUsage: false, reasoningDisplay: 'hidden', stop: [],
      legacyFunctions: false, keepAliveMs: 50,
    });
    const text = await new Response(answer).text();
    expect(text).toContain(': keep-alive');
    expect(text).toMatch(/data: \{"error":\{[^\n]*"code":"upstream_timeout"/);
    expect(text).not.toContain('[DONE]');
    expect(cancelled).toBe(true);
  });

  it('ends a streamed /v1/responses answer with response.failed and an error event naming the timeout', async () => {
    const user = await scripted([{ kind: 'stall' }]);
    const res = await callWithIdle(user, '/v1/responses', { model: 'gpt-5.5', input: 'hi', stream: true }, 300);
    expect(res.status).toBe(200);
    const events = await sseOf(res);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['response.failed', 'error']);
    expect(events.at(-2)?.data.response).toMatchObject({ status: 'failed', error: { code: 'upstream_timeout' } });
    expect(events.at(-1)?.data.error).toMatchObject({ code: 'upstream_timeout', type: 'api_error' });
  });

  it('ends a streamed Chat Completions answer with an error frame, and answers a 504 without streaming', async () => {
    const user = await scripted([{ kind: 'stall' }, { kind: 'stall' }]);
    const ask = (stream: boolean) => ({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }], stream });
    const streamed = await (await callWithIdle(user, '/v1/chat/completions', ask(true), 300)).text();
    expect(streamed).toMatch(/data: \{"error":\{[^\n]*"code":"upstream_timeout"/);
    expect(streamed).not.toContain('[DONE]');
    const whole = await callWithIdle(user, '/v1/chat/completions', ask(false), 300);
    expect(whole.status).toBe(504);
    expect(((await whole.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
  });

  it('reads the idle period from UPSTREAM_IDLE_TIMEOUT_MS, with a default when empty', () => {
    expect(idleTimeoutFrom({ ...env, UPSTREAM_IDLE_TIMEOUT_MS: '1500' })).toBe(1500);
    expect(idleTimeoutFrom({ ...env, UPSTREAM_IDLE_TIMEOUT_MS: '' })).toBe(240_000);
    expect(() => idleTimeoutFrom({ ...env, UPSTREAM_IDLE_TIMEOUT_MS: 'soon' })).toThrow();
  });
});
