import { createHash, randomBytes } from 'node:crypto';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CLIENT_ID, startFakeCodex, type CreatedFamily, type FakeCodex } from '../support/fake-codex/index.ts';

let fake: FakeCodex;
beforeAll(async () => {
  fake = await startFakeCodex();
});
afterAll(async () => {
  await fake.close();
});

function refresh(refreshToken: string, encoding: 'form' | 'json' = 'form') {
  const fields = { grant_type: 'refresh_token', client_id: FAKE_CLIENT_ID, refresh_token: refreshToken };
  return fetch(`${fake.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': encoding === 'form' ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: encoding === 'form' ? new URLSearchParams(fields).toString() : JSON.stringify(fields),
  });
}

const validBody = (text = 'hi there') => ({
  model: 'gpt-5.5',
  instructions: 'Be brief.',
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }],
  store: false,
  stream: true,
});

function callResponses(family: CreatedFamily, body: unknown = validBody(), signal?: AbortSignal) {
  return fetch(`${fake.url}/backend-api/codex/responses`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${family.tokens.access_token}`,
      'chatgpt-account-id': family.accountId,
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

async function readEvents(response: Response): Promise<{ events: EventSourceMessage[]; comments: string[] }> {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) parser.feed(decoder.decode(chunk, { stream: true }));
  return { events, comments };
}

const payloads = (events: EventSourceMessage[]) => events.map((e) => JSON.parse(e.data) as Record<string, any>);

describe('fake Codex token endpoint', () => {
  it('rotates refresh tokens and answers refresh_token_reused when an old one is replayed', async () => {
    const family = fake.state.createFamily();
    const first = await refresh(family.tokens.refresh_token);
    expect(first.status).toBe(200);
    const rotated = (await first.json()) as Record<string, unknown>;
    expect(rotated).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(rotated.refresh_token).not.toBe(family.tokens.refresh_token);
    expect(rotated.access_token).not.toBe(family.tokens.access_token);

    const replay = await refresh(family.tokens.refresh_token);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({
      error: {
        message:
          'Your refresh token has already been used to generate a new access token. Please try signing in again.',
        type: 'invalid_request_error',
        param: null,
        code: 'refresh_token_reused',
      },
    });
    expect(fake.state.family(family.family)).toMatchObject({
      refreshCalls: 2,
      currentRefreshToken: rotated.refresh_token,
      lastContentType: 'application/x-www-form-urlencoded',
    });
  });

  it('consumes scripted failures in order, then succeeds again (JSON bodies accepted too)', async () => {
    const family = fake.state.createFamily();
    await fake.control.scriptTokenEndpoint(family.family, [
      { kind: 'unsupported_media_type' },
      { kind: 'server_error', status: 503 },
      { kind: 'expired' },
    ]);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await refresh(family.tokens.refresh_token, 'json')).status);
    expect(statuses).toEqual([415, 503, 401, 200]);
    const info = await fake.control.family(family.family);
    expect(info).toMatchObject({ refreshCalls: 4, lastContentType: 'application/json', pendingTokenSteps: 0 });
  });

  it('refuses an unknown client_id and an unknown refresh token', async () => {
    const family = fake.state.createFamily();
    const badClient = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'app_x', refresh_token: family.tokens.refresh_token }),
    });
    expect(badClient.status).toBe(400);
    const unknown = await refresh('rt_nope');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_grant' });
    expect(fake.state.family(family.family).refreshCalls).toBe(0);
  });

  it('exchanges an authorization code only with the matching PKCE verifier, once', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const codeChallenge = createHash('sha256').update(verifier).digest('base64url');
    const { code } = await fake.control.createAuthorizationCode({ codeChallenge });
    const exchange = (codeVerifier: string) =>
      fetch(`${fake.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: 'http://localhost:1455/auth/callback',
          client_id: FAKE_CLIENT_ID,
          code_verifier: codeVerifier,
        }),
      });
    expect((await exchange('wrong-verifier')).status).toBe(400);
    const { code: code2, family } = fake.state.createAuthorizationCode({ codeChallenge });
    const ok = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code2, client_id: FAKE_CLIENT_ID, code_verifier: verifier }),
    });
    expect(ok.status).toBe(200);
    const tokens = (await ok.json()) as { refresh_token: string };
    expect(tokens.refresh_token).toBe(fake.state.family(family).currentRefreshToken);
  });
});

describe('fake Codex responses endpoint', () => {
  it('streams SSE frames that parse, with deterministic text, empty completed output and rate-limit headers', async () => {
    const family = fake.state.createFamily();
    fake.state.setRateLimits(family.accountId, { 'x-codex-primary-used-percent': '77', 'x-codex-primary-window-minutes': '300' });
    const response = await callResponses(family, validBody('ping 🏓'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-codex-primary-used-percent')).toBe('77');
    const { events, comments } = await readEvents(response);
    expect(comments.length).toBeGreaterThan(0);
    const data = payloads(events);
    expect(events.map((e) => e.event)).toEqual(data.map((d) => d.type));
    expect(data[0]!.type).toBe('response.created');
    expect(data.at(-1)!.type).toBe('response.completed');
    expect(data.map((d) => d.type)).toEqual(expect.arrayContaining(['codex.rate_limits', 'response.fake_unknown_event']));
    const text = data.filter((d) => d.type === 'response.output_text.delta').map((d) => d.delta).join('');
    expect(text).toBe('Hello from fake Codex: ping 🏓');
    const completed = data.at(-1)!.response;
    expect(completed.output).toEqual([]);
    expect(completed.usage).toMatchObject({ input_tokens: expect.any(Number), total_tokens: expect.any(Number) });
    const recorded = fake.state.requests(family.accountId);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ status: 200, step: 'default', headers: { accept: 'text/event-stream' } });
  });

  it('sends the full response object, request fields echoed, in created, in_progress and completed', async () => {
    const family = fake.state.createFamily();
    const tools = [{ type: 'function', name: 'f', parameters: { type: 'object' } }];
    const data = payloads((await readEvents(await callResponses(family, { ...validBody(), tools }))).events);
    const objects = data.filter((d) => ['response.created', 'response.in_progress', 'response.completed'].includes(d.type)).map((d) => d.response);
    expect(objects).toHaveLength(3);
    for (const response of objects) {
      expect(response).toMatchObject({
        id: objects[0].id, object: 'response', created_at: expect.any(Number), model: validBody().model,
        instructions: validBody().instructions, tools, store: false, parallel_tool_calls: true,
      });
    }
    expect(objects.map((r) => r.status)).toEqual(['in_progress', 'in_progress', 'completed']);
  });

  it('searches and cites when offered the hosted web_search tool', async () => {
    const family = fake.state.createFamily();
    const body = { ...validBody('news'), tools: [{ type: 'web_search' }], include: ['web_search_call.action.sources'] };
    const data = payloads((await readEvents(await callResponses(family, body))).events);
    const done = data.filter((d) => d.type === 'response.output_item.done').map((d) => d.item);
    expect(done[0]).toMatchObject({ type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'news', sources: [{ type: 'url' }] } });
    const part = done[1].content[0];
    expect(part.text.slice(part.annotations[0].start_index, part.annotations[0].end_index)).toMatch(/^\(\[example\.com\]\(https:/);
    expect(data.map((d) => d.type)).toContain('response.output_text.annotation.added');
  });

  it('emits reasoning and interleaved parallel tool calls, optionally all at output_index 0', async () => {
    const family = fake.state.createFamily();
    fake.state.scriptResponses(family.accountId, [
      {
        kind: 'ok',
        reasoningSummary: 'Thinking about weather',
        toolCalls: [
          { name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_a' },
          { name: 'get_time', arguments: '{"tz":"Europe/Paris"}', callId: 'call_b' },
        ],
        repeatOutputIndexZero: true,
        chunkSize: 4,
      },
    ]);
    const data = payloads((await readEvents(await callResponses(family))).events);
    const deltas = data.filter((d) => d.type === 'response.function_call_arguments.delta');
    expect(new Set(deltas.slice(0, 2).map((d) => d.item_id)).size).toBe(2); // interleaved
    expect(deltas.every((d) => d.output_index === 0)).toBe(true);
    const done = data.filter((d) => d.type === 'response.output_item.done').map((d) => d.item);
    expect(done.map((i) => i.type)).toEqual(['reasoning', 'function_call', 'function_call']);
    expect(done[0].encrypted_content).toEqual(expect.any(String));
    expect(done[2]).toMatchObject({ call_id: 'call_b', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' });
    expect(data.some((d) => d.type === 'response.output_text.delta')).toBe(false);
  });

  it('answers 401 for an expired access token and for a mismatched account', async () => {
    const expired = fake.state.createFamily({ accessTokenTtlSeconds: -60 });
    expect((await callResponses(expired)).status).toBe(401);
    const other = fake.state.createFamily();
    const mismatched = { ...other, accountId: expired.accountId };
    expect((await callResponses(mismatched)).status).toBe(401);
  });

  it('enforces the backend rules with a 400 detail', async () => {
    const family = fake.state.createFamily();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...validBody(), store: undefined }, 'Store must be set to false'],
      [{ ...validBody(), stream: false }, 'Stream must be set to true'],
      [{ ...validBody(), instructions: '' }, 'Instructions are required'],
      [{ ...validBody(), temperature: 0.2 }, 'Unsupported parameter: temperature'],
      [{ ...validBody(), previous_response_id: 'resp_1' }, 'Unsupported parameter: previous_response_id'],
    ];
    for (const [body, detail] of cases) {
      const response = await callResponses(family, body);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ detail });
    }
  });

  it('answers 404 for item references and echoed item ids, as the stateless backend does', async () => {
    const family = fake.state.createFamily();
    const inputs = [
      [{ type: 'item_reference', id: 'rs_abc' }],
      [{ type: 'reasoning', id: 'rs_abc', summary: [], encrypted_content: 'gAAAA' }],
      [{ type: 'function_call', id: 'rs_abc', call_id: 'call_1', name: 'f', arguments: '{}' }],
    ];
    for (const input of inputs) {
      const response = await callResponses(family, { ...validBody(), input });
      expect(response.status).toBe(404);
      const body = (await response.json()) as { error: { message: string; type: string; param: string } };
      expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'input' });
      expect(body.error.message).toMatch(/^Item with id 'rs_abc' not found\. Items are not persisted when `store` is set to false\./);
    }
  });

  it('consumes scripted answers in order, then streams normally again', async () => {
    const family = fake.state.createFamily();
    await fake.control.scriptResponses(family.accountId, [
      { kind: 'usage_limit', resetsAt: 1764000000 },
      { kind: 'rate_limited', retryAfterSeconds: 7 },
      { kind: 'failed', code: 'context_length_exceeded', message: 'too long' },
    ]);
    const limit = await callResponses(family);
    expect(limit.status).toBe(429);
    expect(await limit.json()).toMatchObject({
      error: { type: 'usage_limit_reached', plan_type: 'plus', resets_at: 1764000000 },
    });
    const rate = await callResponses(family);
    expect(rate.status).toBe(429);
    expect(rate.headers.get('retry-after')).toBe('7');
    await rate.body?.cancel();
    const failed = payloads((await readEvents(await callResponses(family))).events);
    expect(failed.at(-1)).toMatchObject({ type: 'response.failed', response: { error: { code: 'context_length_exceeded' } } });
    const normal = payloads((await readEvents(await callResponses(family))).events);
    expect(normal.at(-1)!.type).toBe('response.completed');
    expect((await fake.control.requests(family.accountId)).map((r) => r.step)).toEqual([
      'usage_limit',
      'rate_limited',
      'failed',
      'default',
    ]);
  });

  it('sends the same events when told to pace them in network chunks (benchmarks)', async () => {
    const family = fake.state.createFamily();
    const text = 'abc '.repeat(50);
    fake.state.scriptResponses(family.accountId, [
      { kind: 'ok', text, chunkSize: 4 },
      { kind: 'ok', text, chunkSize: 4, eventsPerChunk: 1 },
      { kind: 'ok', text, chunkSize: 4, eventsPerChunk: 20 },
    ]);
    const shapes: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const { events } = await readEvents(await callResponses(family));
      shapes.push(payloads(events).map((e) => [e.type, e.delta ?? null]));
    }
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
    expect((shapes[0] as unknown[]).filter((s) => (s as string[])[0] === 'response.output_text.delta')).toHaveLength(50);
  });

  it('drops the answers still queued when asked to', async () => {
    const family = fake.state.createFamily();
    fake.state.scriptResponses(family.accountId, [{ kind: 'usage_limit' }, { kind: 'usage_limit' }]);
    await fake.control.clearResponseScript(family.accountId);
    expect((await callResponses(family)).status).toBe(200);
  });

  it('cuts a truncated stream before response.completed', async () => {
    const family = fake.state.createFamily();
    fake.state.scriptResponses(family.accountId, [{ kind: 'truncated', afterEvents: 3 }]);
    const response = await callResponses(family);
    const seen: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => seen.push(e) });
    await expect(
      (async () => {
        for await (const chunk of response.body!) parser.feed(Buffer.from(chunk).toString('utf8'));
      })(),
    ).rejects.toThrow();
    expect(seen.map((e) => e.event)).toEqual(['response.created', 'response.in_progress', 'codex.rate_limits']);
  });

  it('notices a client that goes away from a slow or hanging stream and counts it as aborted', async () => {
    const family = fake.state.createFamily();
    fake.state.scriptResponses(family.accountId, [{ kind: 'hang' }, { kind: 'slow', delayMs: 50 }]);
    const hangAbort = new AbortController();
    const hung = await callResponses(family, validBody(), hangAbort.signal);
    expect(hung.status).toBe(200);
    hangAbort.abort();
    await expect.poll(() => fake.state.accountStats(family.accountId).aborted, { timeout: 10_000 }).toBe(1);

    const slowAbort = new AbortController();
    const slow = await callResponses(family, validBody(), slowAbort.signal);
    const reader = slow.body!.getReader();
    await reader.read(); // first frames arrived; the rest trickle
    slowAbort.abort();
    await expect.poll(() => fake.state.accountStats(family.accountId), { timeout: 10_000 }).toEqual({ requests: 2, aborted: 2 });
  });
});

describe('fake Codex models and usage', () => {
  const modelsHeaders = (family: CreatedFamily) => ({
    authorization: `Bearer ${family.tokens.access_token}`,
    'chatgpt-account-id': family.accountId,
  });
  const getModels = (family: CreatedFamily, clientVersion: string | null, etag?: string) =>
    fetch(`${fake.url}/backend-api/codex/models${clientVersion ? `?client_version=${clientVersion}` : ''}`, {
      headers: { ...modelsHeaders(family), ...(etag ? { 'if-none-match': etag } : {}) },
    });

  it('serves today’s catalog with an ETag and honours If-None-Match', async () => {
    const family = fake.state.createFamily();
    const first = await getModels(family, '0.171.0');
    const body = (await first.json()) as { models: { slug: string; visibility: string; supported_reasoning_levels: { effort: string }[] }[] };
    expect(body.models.map((m) => m.slug)).toEqual([
      'gpt-5.6-sol', 'gpt-5.6-terra', 'gpt-5.6-luna', 'gpt-5.5', 'gpt-5.4', 'gpt-5.4-mini', 'gpt-5.3-codex-spark', 'codex-auto-review',
    ]);
    expect(body.models[0]!.supported_reasoning_levels.map((l) => l.effort)).toEqual(['low', 'medium', 'high', 'xhigh', 'max', 'ultra']);
    const etag = first.headers.get('etag')!;
    const again = await getModels(family, '0.171.0', etag);
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(fake.state.modelsRequests(family.accountId).map((r) => r.status)).toEqual([200, 304]);
  });

  it('gates the catalog by client_version, as the backend does', async () => {
    const family = fake.state.createFamily();
    expect((await getModels(family, null)).status).toBe(400);
    const old = (await (await getModels(family, '0.130.0')).json()) as { models: { slug: string }[] };
    expect(old.models.map((m) => m.slug)).not.toContain('gpt-5.6-sol');
    expect(old.models.map((m) => m.slug)).toContain('gpt-5.5');
  });

  it('serves each account its own catalog, and a new ETag when it changes', async () => {
    const family = fake.state.createFamily();
    const before = (await getModels(family, '0.171.0')).headers.get('etag')!;
    fake.state.setModels(family.accountId, { models: [{ slug: 'gpt-only-here', supported_reasoning_levels: [] }] });
    const after = await getModels(family, '0.171.0', before);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { models: { slug: string }[] }).models.map((m) => m.slug)).toEqual(['gpt-only-here']);
    const other = fake.state.createFamily();
    expect(((await (await getModels(other, '0.171.0')).json()) as { models: unknown[] }).models).toHaveLength(8);
    fake.state.setModels(family.accountId, { failWith: 503 });
    expect((await getModels(family, '0.171.0')).status).toBe(503);
  });

  it('refuses models outside the account’s catalog, and gated ones for an old client, with the real messages', async () => {
    const family = fake.state.createFamily();
    const retired = await callResponses(family, { ...validBody(), model: 'gpt-5.3-codex' });
    expect(retired.status).toBe(400);
    expect(await retired.json()).toEqual({ detail: "The 'gpt-5.3-codex' model is not supported when using Codex with a ChatGPT account." });
    const old = await fetch(`${fake.url}/backend-api/codex/responses`, {
      method: 'POST',
      headers: { ...modelsHeaders(family), 'content-type': 'application/json', version: '0.130.0' },
      body: JSON.stringify({ ...validBody(), model: 'gpt-5.6-sol' }),
    });
    expect(old.status).toBe(400);
    expect(((await old.json()) as { detail: string }).detail).toMatch(/requires a newer version of Codex/);
  });

  it('names the account’s current catalog in x-models-etag on every model answer', async () => {
    const family = fake.state.createFamily();
    const etag = (await getModels(family, '0.171.0')).headers.get('etag');
    const answer = await callResponses(family);
    expect(answer.headers.get('x-models-etag')).toBe(etag);
    await answer.body?.cancel();
  });

  it('reports usage per account from its rate-limit headers', async () => {
    const family = fake.state.createFamily({ planType: 'pro' });
    fake.state.setRateLimits(family.accountId, {
      'x-codex-primary-used-percent': '100',
      'x-codex-primary-window-minutes': '300',
      'x-codex-primary-reset-at': '1764000000',
    });
    const response = await fetch(`${fake.url}/backend-api/wham/usage`, {
      headers: { authorization: `Bearer ${family.tokens.access_token}`, 'chatgpt-account-id': family.accountId },
    });
    expect(await response.json()).toMatchObject({
      plan_type: 'pro',
      rate_limit: { limit_reached: true, primary_window: { used_percent: 100, limit_window_seconds: 18000 }, secondary_window: null },
    });
  });

  it('creates families whose auth.json carries the identity claims in JWTs', async () => {
    const created = await fake.control.createFamily({ email: 'a@example.com', planType: 'team' });
    expect(created.authJson).toMatchObject({ auth_mode: 'chatgpt', OPENAI_API_KEY: null, tokens: created.tokens });
    const payload = JSON.parse(Buffer.from(created.tokens.access_token.split('.')[1]!, 'base64url').toString());
    expect(payload['https://api.openai.com/auth']).toMatchObject({
      chatgpt_account_id: created.accountId,
      chatgpt_plan_type: 'team',
    });
    expect(payload['https://api.openai.com/profile']).toEqual({ email: 'a@example.com', email_verified: true });
    expect(payload.exp - payload.iat).toBe(3600);
  });
});
