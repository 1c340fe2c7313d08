import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import app from '../../../worker/index.ts';
import type { SseEvent } from '../../../worker/translate/sse.ts';
import { parseSseStream } from '../helpers/sse.ts';
import type { RecordedRequest, ResponseStep } from '../../support/fake-codex/types.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

const BASE = 'https://usemysub.test';

async function call(user: SeededUser | null, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (user) headers.set('Authorization', `Bearer ${user.apiKey}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const method = init.method ?? (body ? 'POST' : 'GET');
  return exports.default.fetch(new Request(BASE + path, { method, headers, body, signal: init.signal ?? null }));
}

async function userWith(steps: ResponseStep[] = []): Promise<SeededUser> {
  const user = await seedUser();
  if (steps.length > 0) await user.fake.scriptResponses(user.accountId, steps);
  return user;
}

async function lastRequest(user: SeededUser): Promise<RecordedRequest> {
  const requests = await user.fake.requests(user.accountId);
  const last = requests.at(-1);
  if (!last) throw new Error('the fake saw no request');
  return last;
}

async function errorOf(res: Response): Promise<{ message: string; type: string; param: string | null; code: string }> {
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
  // A usage limit adds the backend's plan and reset fields; every other error has exactly the four.
  const keys = body.error.code === 'usage_limit_reached' ? ['code', 'message', 'param', 'plan_type', 'resets_at', 'resets_in_seconds', 'type'] : ['code', 'message', 'param', 'type'];
  expect(Object.keys(body.error).sort()).toEqual(keys);
  return body.error;
}

async function eventsOf(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of parseSseStream(res.body!)) events.push(event);
  return events;
}

describe('GET /v1/models', () => {
  it('lists the models and their effort aliases for a valid key', async () => {
    const user = await userWith();
    const res = await call(user, '/v1/models');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: Array<{ id: string }> };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-5.6-sol', 'gpt-5.6-sol-ultra', 'gpt-5.5', 'gpt-5.5-high']));
  });

  it('describes one model, and answers 404 model_not_found for an unknown one', async () => {
    const user = await userWith();
    expect(await (await call(user, '/v1/models/gpt-5.5-high')).json()).toMatchObject({ id: 'gpt-5.5-high', object: 'model' });
    const res = await call(user, '/v1/models/gpt-4o');
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('model_not_found');
  });

  it('answers on the unprefixed /models path that Cursor calls', async () => {
    const user = await userWith();
    const res = await call(user, '/models');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('list');
  });

  it('refuses a missing or wrong key with 401 invalid_api_key', async () => {
    const missing = await call(null, '/v1/models');
    expect(missing.status).toBe(401);
    expect((await errorOf(missing)).code).toBe('invalid_api_key');
    const wrong = await call(null, '/v1/models', { headers: { Authorization: 'Bearer cpk_not-a-real-key' } });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe('invalid_api_key');
  });
});

describe('browser clients (CORS)', () => {
  it('answers a preflight without a key', async () => {
    const res = await call(null, '/v1/responses', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type, x-stainless-os',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });

  it('lets a browser read errors too', async () => {
    const res = await call(null, '/v1/models', { headers: { Origin: 'https://app.example' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('POST /v1/responses without streaming', () => {
  it('returns the model’s answer in output and output_text, with usage', async () => {
    const user = await userWith();
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'ping' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown> & { output: Array<Record<string, unknown>> };
    expect(body).toMatchObject({ object: 'response', status: 'completed', output_text: 'Hello from fake Codex: ping' });
    const message = body.output.find((item) => item.type === 'message');
    expect(message).toMatchObject({ role: 'assistant', content: [{ type: 'output_text', text: 'Hello from fake Codex: ping' }] });
    expect(body.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number), total_tokens: expect.any(Number) });
  });

  it('returns the backend’s full response object: the id, created_at and model of its created event, not ours', async () => {
    const user = await userWith();
    const streamed = await eventsOf(await call(user, '/v1/responses', { json: { model: 'gpt-5.5-high', input: 'a', stream: true } }));
    const created = streamed.find((e) => e.type === 'response.created')!.data.response as Record<string, unknown>;
    expect(created).toMatchObject({ object: 'response', status: 'in_progress', model: 'gpt-5.5', created_at: expect.any(Number), id: expect.stringMatching(/^resp_/) });
    const completed = streamed.at(-1)!.data.response as Record<string, unknown>;
    expect(completed).toMatchObject({ id: created.id, created_at: created.created_at, model: 'gpt-5.5', status: 'completed' });

    const whole = (await (await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'b' } })).json()) as Record<string, unknown>;
    const seen = (await user.fake.requests(user.accountId)).at(-1)!.body as Record<string, unknown>;
    expect(whole).toMatchObject({
      id: expect.stringMatching(/^resp_/), object: 'response', created_at: expect.any(Number), model: 'gpt-5.5',
      status: 'completed', instructions: seen.instructions, reasoning: seen.reasoning, store: false,
    });
  });

  it('sends the backend exactly what it requires, with the Codex headers', async () => {
    const user = await userWith();
    await call(user, '/v1/responses', {
      json: { model: 'gpt-5.5-high', input: 'hi', temperature: 0.2, max_output_tokens: 10, metadata: { a: '1' }, user: 'u' },
    });
    const seen = await lastRequest(user);
    const body = seen.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'gpt-5.5', reasoning: { effort: 'high' }, store: false, stream: true });
    expect(typeof body.instructions).toBe('string');
    expect((body.instructions as string).trim()).not.toBe('');
    expect(body.include).toContain('reasoning.encrypted_content');
    for (const name of ['temperature', 'max_output_tokens', 'metadata', 'user']) expect(body).not.toHaveProperty(name);
    expect(seen.headers).toMatchObject({
      originator: 'codex_cli_rs',
      'chatgpt-account-id': user.accountId,
      version: '0.171.0',
      'user-agent': expect.stringMatching(/^codex_cli_rs\/0\.171\.0 /),
      session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      accept: 'text/event-stream',
    });
  });

  it('keeps one upstream session per prompt_cache_key', async () => {
    const user = await userWith();
    const send = () => call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi', prompt_cache_key: 'conv-1' } });
    await (await send()).text();
    const first = (await lastRequest(user)).headers.session_id;
    await (await send()).text();
    expect((await lastRequest(user)).headers.session_id).toBe(first);
    expect((await lastRequest(user)).body).toMatchObject({ prompt_cache_key: 'conv-1' });
  });

  it('maps a usage limit to 429 with Retry-After and the reset time', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 7200;
    const user = await userWith([{ kind: 'usage_limit', resetsAt }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' } });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(7000);
    expect(retryAfter).toBeLessThanOrEqual(7200);
    const error = await errorOf(res);
    expect(error).toMatchObject({ type: 'usage_limit_reached', code: 'usage_limit_reached', plan_type: 'plus', resets_at: resetsAt });
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(error.message).toContain(new Date(resetsAt * 1000).toISOString());
  });

  it('maps an upstream 5xx to 502 upstream_error', async () => {
    const user = await userWith([{ kind: 'server_error', status: 503 }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' } });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe('upstream_error');
  });

  it('maps an upstream 400 detail to 400 upstream_rejected with the detail', async () => {
    const user = await userWith([{ kind: 'bad_request', detail: 'Invalid tool schema' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' } });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('upstream_rejected');
    expect(error.message).toContain('Invalid tool schema');
  });

  it('answers 400 context_length_exceeded when the response fails for that reason', async () => {
    const user = await userWith([{ kind: 'failed', code: 'context_length_exceeded', message: 'Your input exceeds the context window of this model.' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' } });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('context_length_exceeded');
  });

  it('answers 502 instead of a partial 200 when the upstream stream is cut', async () => {
    const user = await userWith([{ kind: 'truncated' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' } });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe('upstream_error');
  });

  it('survives one upstream 401 by refreshing the token once and retrying', async () => {
    const user = await userWith([{ kind: 'unauthorized' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'again' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { output_text: string }).output_text).toBe('Hello from fake Codex: again');
    expect((await user.fake.family(user.family.family)).refreshCalls).toBe(1);
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(2);
  });

  it('returns an incomplete response with its reason rather than an error', async () => {
    const user = await userWith([{ kind: 'incomplete', reason: 'max_output_tokens' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
  });

  it('stops the upstream request when a waiting client gives up', async () => {
    const user = await userWith([{ kind: 'hang' }]);
    const client = new AbortController();
    const pending = call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' }, signal: client.signal });
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).requests).toBe(1));
    client.abort();
    await pending.catch(() => {});
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).aborted).toBe(1), { timeout: 5000 });
  }, 20_000);

  it('records the upstream rate-limit headers in the user’s broker', async () => {
    const user = await userWith();
    await user.fake.setRateLimits(user.accountId, {
      'x-codex-primary-used-percent': '42',
      'x-codex-primary-window-minutes': '300',
      'x-codex-primary-reset-at': String(Math.floor(Date.now() / 1000) + 600),
    });
    await (await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi' } })).text();
    const broker = env.AUTH_BROKER.getByName(user.userId);
    await vi.waitFor(async () => {
      expect((await broker.getRateLimits(user.userId))?.primary).toMatchObject({ usedPercent: 42, windowMinutes: 300 });
    });
  });

  it('answers 502 when the relay cannot be reached', async () => {
    const user = await userWith();
    const ctx = createExecutionContext();
    const res = await app.request(
      '/v1/responses',
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.5', input: 'hi' }),
      },
      { ...env, CODEX_RELAY_URL: 'http://127.0.0.1:9' },
      ctx,
    );
    expect(res.status).toBe(502);
    const error = await errorOf(res);
    expect(error.code).toBe('upstream_error');
    expect(error.message).not.toMatch(/127\.0\.0\.1/);
    await waitOnExecutionContext(ctx);
  });
});

describe('POST /v1/responses with streaming', () => {
  it('streams the events and ends with response.completed', async () => {
    const user = await userWith();
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'stream me', stream: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await eventsOf(res);
    expect(events[0]?.type).toBe('response.created');
    expect(events.at(-1)?.type).toBe('response.completed');
    const text = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.data.delta).join('');
    expect(text).toBe('Hello from fake Codex: stream me');
    // Codex-only and unknown event types stay here: the SDKs' stream helpers throw on them.
    expect(events.some((e) => e.type.startsWith('codex.') || e.type === 'response.fake_unknown_event')).toBe(false);
  });

  it('delivers the first event while the model is still answering, and a disconnect stops the upstream', async () => {
    const user = await userWith([{ kind: 'slow', delayMs: 2000 }]);
    const started = Date.now();
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi', stream: true } });
    const reader = parseSseStream(res.body!).getReader();
    const first = await reader.read();
    expect(first.value?.type).toBe('response.created');
    expect(Date.now() - started).toBeLessThan(2000);
    await reader.cancel();
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).aborted).toBe(1), { timeout: 5000 });
  }, 20_000);

  it('ends a stream cut by the upstream with one final error event', async () => {
    const user = await userWith([{ kind: 'truncated' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi', stream: true } });
    expect(res.status).toBe(200);
    const events = await eventsOf(res);
    expect(events.at(-1)).toMatchObject({ type: 'error', data: { error: { code: 'upstream_error', type: 'api_error' } } });
    expect(events.some((e) => e.type === 'response.completed')).toBe(false);
  });

  it('ends with the mapped error event when the model fails mid-stream', async () => {
    const user = await userWith([{ kind: 'failed', code: 'context_length_exceeded', message: 'Too long.' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi', stream: true } });
    const events = await eventsOf(res);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['response.failed', 'error']);
    expect(events.at(-1)?.data.error).toMatchObject({ code: 'context_length_exceeded' });
  });

  it('turns an upstream error event into the final error event', async () => {
    const user = await userWith([{ kind: 'error_event', code: 'server_error', message: 'Something broke.' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi', stream: true } });
    const events = await eventsOf(res);
    expect(events.at(-1)).toMatchObject({ type: 'error', data: { error: { code: 'upstream_error' } } });
  });

  it('still answers an error that happens before the stream starts with a plain HTTP error', async () => {
    const user = await userWith([{ kind: 'usage_not_included' }]);
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi', stream: true } });
    expect(res.status).toBe(429);
    expect((await errorOf(res)).code).toBe('usage_not_included');
  });
});

describe('bad requests to /v1/responses', () => {
  it('answers 400 invalid_json for a body that is not JSON', async () => {
    const user = await userWith();
    const res = await call(user, '/v1/responses', { method: 'POST', body: '{"model": ', headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_json');
  });

  it('answers 400 naming the param for a wrong type', async () => {
    const user = await userWith();
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'hi', stream: 'yes' } });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).param).toBe('stream');
  });

  it('answers 404 model_not_found for an unknown model, without calling upstream', async () => {
    const user = await userWith();
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-4o', input: 'hi' } });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('model_not_found');
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });

  it('answers 413 for a body over the limit', async () => {
    const user = await userWith();
    const res = await call(user, '/v1/responses', { json: { model: 'gpt-5.5', input: 'x'.repeat(21 * 1024 * 1024) } });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('request_too_large');
  });

  it('answers 405 for GET and 404 in the OpenAI shape for unknown /v1 paths', async () => {
    const user = await userWith();
    const get = await call(user, '/v1/responses');
    expect(get.status).toBe(405);
    expect((await errorOf(get)).code).toBe('method_not_allowed');
    const unknown = await call(user, '/v1/embeddings', { json: {} });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('not_found');
  });
});

describe('the official openai SDK against /v1', () => {
  async function sdkFor(user: SeededUser, maxRetries = 0) {
    const { default: OpenAI } = await import('openai');
    return new OpenAI({
      apiKey: user.apiKey,
      baseURL: `${BASE}/v1`,
      maxRetries,
      fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
    });
  }

  it('creates a response and streams one, with the final response complete', async () => {
    const user = await userWith();
    const client = await sdkFor(user);
    const created = await client.responses.create({ model: 'gpt-5.5', input: 'sdk' });
    expect(created.output_text).toBe('Hello from fake Codex: sdk');

    const stream = client.responses.stream({ model: 'gpt-5.5-low', input: 'sdk stream' });
    let deltas = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') deltas += event.delta;
    const final = await stream.finalResponse();
    expect(deltas).toBe('Hello from fake Codex: sdk stream');
    expect(final.output_text).toBe('Hello from fake Codex: sdk stream');
  }, 20_000);

  it('does not retry a usage limit with its default retries, and exposes the plan and reset time', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 5400;
    const user = await userWith([{ kind: 'usage_limit', resetsAt }, { kind: 'usage_limit', resetsAt }, { kind: 'usage_limit', resetsAt }]);
    const client = await sdkFor(user, 2);
    await expect(client.responses.create({ model: 'gpt-5.5', input: 'hi' })).rejects.toMatchObject({ status: 429, type: 'usage_limit_reached', error: { plan_type: 'plus', resets_at: resetsAt } });
    expect((await user.fake.requests(user.accountId)).length).toBe(1);
  }, 20_000);

  it('surfaces a usage limit and a mid-stream failure as SDK errors', async () => {
    const user = await userWith([{ kind: 'usage_limit' }, { kind: 'truncated' }]);
    const client = await sdkFor(user);
    await expect(client.responses.create({ model: 'gpt-5.5', input: 'hi' })).rejects.toMatchObject({
      status: 429,
      code: 'usage_limit_reached',
    });
    const stream = await client.responses.create({ model: 'gpt-5.5', input: 'hi', stream: true });
    await expect(
      (async () => {
        for await (const _event of stream) {
          // consume
        }
      })(),
    ).rejects.toMatchObject({ code: 'upstream_error' });
  }, 20_000);
});
