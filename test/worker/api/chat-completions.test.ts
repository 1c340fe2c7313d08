/**
 * POST /v1/chat/completions through the whole Worker (exports.default.fetch) against the fake
 * Codex backend: what clients receive, and what the backend is sent.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import app from '../../../worker/index.ts';
import type { RecordedRequest, ResponseStep } from '../../support/fake-codex/types.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

const BASE = 'https://usemysub.test';
type Json = Record<string, any>;

async function userWith(steps: ResponseStep[] = []): Promise<SeededUser> {
  const user = await seedUser();
  if (steps.length > 0) await user.fake.scriptResponses(user.accountId, steps);
  return user;
}

function chat(user: SeededUser | null, body: unknown, init: { path?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  const headers = new Headers({ 'Content-Type': 'application/json', ...init.headers });
  if (user && !headers.has('x-api-key')) headers.set('Authorization', `Bearer ${user.apiKey}`);
  const request = new Request(BASE + (init.path ?? '/v1/chat/completions'), {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal ?? null,
  });
  return exports.default.fetch(request);
}

async function lastUpstream(user: SeededUser): Promise<RecordedRequest & { body: Json }> {
  const last = (await user.fake.requests(user.accountId)).at(-1);
  if (!last) throw new Error('the fake saw no request');
  return last as RecordedRequest & { body: Json };
}

async function errorOf(res: Response): Promise<Json> {
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await res.json()) as { error: Json };
  // A usage limit adds the backend's plan and reset fields; every other error has exactly the four.
  const keys = body.error.code === 'usage_limit_reached' ? ['code', 'message', 'param', 'plan_type', 'resets_at', 'resets_in_seconds', 'type'] : ['code', 'message', 'param', 'type'];
  expect(Object.keys(body.error).sort()).toEqual(keys);
  return body.error;
}

/** The `data:` payloads of a streamed answer: chunks (parsed) and whether `[DONE]` ended it. */
async function streamOf(res: Response): Promise<{ chunks: Json[]; done: boolean }> {
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const frames = (await res.text()).split('\n\n').filter(Boolean).map((f) => f.replace(/^data: /, ''));
  const done = frames.at(-1) === '[DONE]';
  return { chunks: (done ? frames.slice(0, -1) : frames).map((f) => JSON.parse(f) as Json), done };
}

const joined = (chunks: Json[], field: string) => chunks.map((c) => c.choices?.[0]?.delta?.[field] ?? '').join('');
const ask = (text: string, extra: Json = {}) => ({ model: 'gpt-5.5', messages: [{ role: 'user', content: text }], ...extra });

describe('POST /v1/chat/completions without streaming', () => {
  it('answers one chat.completion with the text, finish_reason and usage', async () => {
    const user = await userWith();
    const res = await chat(user, ask('ping'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      model: 'gpt-5.5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from fake Codex: ping' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
    });
  });

  it('sends the backend a Responses body it accepts, system text as instructions, refused params dropped', async () => {
    const user = await userWith();
    const res = await chat(user, {
      model: 'gpt-5.5-high',
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'hi' }],
      temperature: 0.2, max_tokens: 100, user: 'someone', seed: 1,
    });
    expect(res.status).toBe(200);
    const seen = await lastUpstream(user);
    expect(seen.body).toMatchObject({
      model: 'gpt-5.5', instructions: 'Be terse.', reasoning: { effort: 'high', summary: 'auto' }, store: false, stream: true,
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
    });
    for (const name of ['temperature', 'max_tokens', 'user', 'seed', 'messages']) expect(seen.body).not.toHaveProperty(name);
    expect(seen.headers).toMatchObject({ originator: 'codex_cli_rs', 'chatgpt-account-id': user.accountId });
  });

  it('keeps one prompt_cache_key and upstream session for the turns of a conversation', async () => {
    const user = await userWith();
    const first = [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Name a color.' }];
    await (await chat(user, { model: 'gpt-5.5', messages: first })).text();
    const turn1 = await lastUpstream(user);
    const second = [...first, { role: 'assistant', content: 'Blue.' }, { role: 'user', content: 'Another.' }];
    await (await chat(user, { model: 'gpt-5.5', messages: second })).text();
    const turn2 = await lastUpstream(user);
    expect(turn1.body.prompt_cache_key).toEqual(expect.any(String));
    expect(turn2.body.prompt_cache_key).toBe(turn1.body.prompt_cache_key);
    expect(turn2.headers.session_id).toBe(turn1.headers.session_id);
    await (await chat(user, ask('A different conversation.'))).text();
    expect((await lastUpstream(user)).body.prompt_cache_key).not.toBe(turn1.body.prompt_cache_key);
  });

  it('gives a /v1/responses client without a prompt_cache_key the same stable session', async () => {
    const user = await userWith();
    const send = () => exports.default.fetch(new Request(`${BASE}/v1/responses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'same start' }),
    }));
    await (await send()).text();
    const first = await lastUpstream(user);
    await (await send()).text();
    expect((await lastUpstream(user)).headers.session_id).toBe(first.headers.session_id);
    expect(first.body.prompt_cache_key).toEqual(expect.any(String));
  });

  it('does a tool round trip: parallel calls out, their results back in', async () => {
    const user = await userWith([
      { kind: 'ok', repeatOutputIndexZero: true, toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_p' },
        { name: 'get_weather', arguments: '{"city":"Rome"}', callId: 'call_r' },
      ] },
      { kind: 'ok', text: 'Paris 18C, Rome 21C.' },
    ]);
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const messages: Json[] = [{ role: 'user', content: 'Weather in Paris and Rome?' }];
    const first = (await (await chat(user, { model: 'gpt-5.5', messages, tools })).json()) as Json;
    expect(first.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [
          { id: 'call_p', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_r', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
    });
    expect((await lastUpstream(user)).body.tools).toEqual([{ type: 'function', name: 'get_weather', parameters: tools[0]!.function.parameters, strict: false }]);

    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: 'call_p', content: '18C' }, { role: 'tool', tool_call_id: 'call_r', content: '21C' });
    const second = (await (await chat(user, { model: 'gpt-5.5', messages, tools })).json()) as Json;
    expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Paris 18C, Rome 21C.' } });
    expect((await lastUpstream(user)).body.input.slice(1)).toEqual([
      { type: 'function_call', call_id: 'call_p', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'call_r', name: 'get_weather', arguments: '{"city":"Rome"}' },
      { type: 'function_call_output', call_id: 'call_p', output: '18C' },
      { type: 'function_call_output', call_id: 'call_r', output: '21C' },
    ]);
  });

  it('forwards images as input_image and json_schema as text.format', async () => {
    const user = await userWith([{ kind: 'ok', text: '{"animal":"cat"}' }]);
    const schema = { type: 'object', properties: { animal: { type: 'string' } }, required: ['animal'], additionalProperties: false };
    const res = await chat(user, {
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'What animal?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ] }],
      response_format: { type: 'json_schema', json_schema: { name: 'animal', schema, strict: true } },
    });
    expect(JSON.parse(((await res.json()) as Json).choices[0].message.content)).toEqual({ animal: 'cat' });
    const seen = await lastUpstream(user);
    expect(seen.body.input[0].content[1]).toEqual({ type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' });
    expect(seen.body.text).toEqual({ format: { type: 'json_schema', name: 'animal', schema, strict: true } });
  });

  it('returns the reasoning summary as reasoning_content', async () => {
    const user = await userWith([{ kind: 'ok', reasoningSummary: 'Thinking it over.', text: 'Done.' }]);
    const body = (await (await chat(user, ask('think'))).json()) as Json;
    expect(body.choices[0].message).toMatchObject({ content: 'Done.', reasoning_content: 'Thinking it over.' });
    expect(body.usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });

  it('finishes with length when the backend cut the answer short', async () => {
    const user = await userWith([{ kind: 'incomplete', reason: 'max_output_tokens', text: 'Partial' }]);
    const body = (await (await chat(user, ask('long'))).json()) as Json;
    expect(body.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Partial' } });
  });

  it('applies stop sequences the backend does not know', async () => {
    const user = await userWith([{ kind: 'ok', text: 'Thought: look it up\nObservation: made up', chunkSize: 3 }]);
    const body = (await (await chat(user, ask('react', { stop: ['\nObservation:'] }))).json()) as Json;
    expect(body.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Thought: look it up' } });
  });
});

describe('POST /v1/chat/completions with streaming', () => {
  it('streams a role chunk, text deltas, the finish chunk, usage, then [DONE]', async () => {
    const user = await userWith([{ kind: 'ok', reasoningSummary: 'Short plan.', text: 'Streamed answer.', chunkSize: 4 }]);
    const res = await chat(user, ask('go', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    const { chunks, done } = await streamOf(res);
    expect(done).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]!.choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(joined(chunks, 'reasoning_content')).toBe('Short plan.');
    expect(joined(chunks, 'content')).toBe('Streamed answer.');
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(2);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
  });

  it('hides reasoning per request, and does not ask the backend for a summary then', async () => {
    const user = await userWith([{ kind: 'ok', reasoningSummary: 'Secret plan.', text: 'Answer.' }]);
    const { chunks } = await streamOf(await chat(user, ask('go', { stream: true, include_reasoning: false })));
    expect(joined(chunks, 'reasoning_content')).toBe('');
    expect(joined(chunks, 'content')).toBe('Answer.');
    expect((await lastUpstream(user)).body.reasoning).toEqual({ effort: 'medium' });
  });

  it('follows the CHAT_REASONING_DISPLAY server setting', async () => {
    const user = await userWith([{ kind: 'ok', reasoningSummary: 'Plan.', text: 'Answer.' }]);
    const ctx = createExecutionContext();
    const res = await app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(ask('go')),
    }, { ...env, CHAT_REASONING_DISPLAY: 'think_tags' }, ctx);
    expect(((await res.json()) as Json).choices[0].message.content).toBe('<think>\nPlan.\n</think>\n\nAnswer.');
    await waitOnExecutionContext(ctx);
  });

  it('streams parallel tool calls with their index, id, name and argument pieces', async () => {
    const user = await userWith([{ kind: 'ok', repeatOutputIndexZero: true, chunkSize: 5, toolCalls: [
      { name: 'lookup', arguments: '{"q":"alpha beta"}', callId: 'call_1' },
      { name: 'lookup', arguments: '{"q":"gamma"}', callId: 'call_2' },
    ] }]);
    const { chunks, done } = await streamOf(await chat(user, ask('go', {
      stream: true, tools: [{ type: 'function', function: { name: 'lookup' } }],
    })));
    expect(done).toBe(true);
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(deltas.filter((d: Json) => d.id)).toEqual([
      { index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } },
      { index: 1, id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '' } },
    ]);
    const args = (index: number) => deltas.filter((d: Json) => d.index === index).map((d: Json) => d.function.arguments).join('');
    expect([args(0), args(1)]).toEqual(['{"q":"alpha beta"}', '{"q":"gamma"}']);
    expect(deltas.length).toBeGreaterThan(4);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
  });

  it('ends with one error frame and no [DONE] when the backend stream is cut', async () => {
    const user = await userWith([{ kind: 'truncated' }]);
    const { chunks, done } = await streamOf(await chat(user, ask('hi', { stream: true })));
    expect(done).toBe(false);
    expect(chunks.at(-1)).toEqual({ error: expect.objectContaining({ code: 'upstream_error', type: 'api_error' }) });
  });

  it('ends with the mapped error frame when the model fails mid-stream', async () => {
    const user = await userWith([
      { kind: 'error_event', code: 'server_error', message: 'Something broke.' },
      { kind: 'failed', code: 'context_length_exceeded', message: 'Too long.' },
    ]);
    const broken = await streamOf(await chat(user, ask('hi', { stream: true })));
    expect(broken.chunks.at(-1)?.error).toMatchObject({ code: 'upstream_error' });
    const tooLong = await streamOf(await chat(user, ask('hi', { stream: true })));
    expect(tooLong.chunks.at(-1)?.error).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
    expect(tooLong.done).toBe(false);
  });

  it('stops the upstream request when the client stops reading', async () => {
    const user = await userWith([{ kind: 'slow', delayMs: 1000, text: 'a slow and long answer' }]);
    const res = await chat(user, ask('hi', { stream: true }));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).aborted).toBe(1), { timeout: 5000 });
  }, 20_000);
});

describe('errors from /v1/chat/completions', () => {
  it('maps a usage limit to 429 with Retry-After and the reset time, streaming or not', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3600;
    const user = await userWith([{ kind: 'usage_limit', resetsAt }, { kind: 'usage_limit', resetsAt }]);
    for (const stream of [false, true]) {
      const res = await chat(user, ask('hi', { stream }));
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3500);
      const error = await errorOf(res);
      expect(error).toMatchObject({ type: 'usage_limit_reached', code: 'usage_limit_reached', plan_type: 'plus', resets_at: resetsAt });
      expect(res.headers.get('x-should-retry')).toBe('false');
      expect(error.message).toContain(new Date(resetsAt * 1000).toISOString());
    }
  });

  it('answers 429 usage_not_included, 502 for an upstream 5xx, and 400 context_length_exceeded on messages', async () => {
    const user = await userWith([
      { kind: 'usage_not_included' },
      { kind: 'server_error', status: 503 },
      { kind: 'failed', code: 'context_length_exceeded', message: 'Your input exceeds the context window.' },
    ]);
    const notIncluded = await chat(user, ask('hi'));
    expect([notIncluded.status, (await errorOf(notIncluded)).code]).toEqual([429, 'usage_not_included']);
    const down = await chat(user, ask('hi'));
    expect([down.status, (await errorOf(down)).code]).toEqual([502, 'upstream_error']);
    const tooLong = await chat(user, ask('hi'));
    expect(tooLong.status).toBe(400);
    expect(await errorOf(tooLong)).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
  });

  it('answers 502 rather than a partial answer when a non-streamed answer is cut', async () => {
    const user = await userWith([{ kind: 'truncated' }]);
    const res = await chat(user, ask('hi'));
    expect([res.status, (await errorOf(res)).code]).toEqual([502, 'upstream_error']);
  });

  it('stops the upstream request when a waiting client gives up', async () => {
    const user = await userWith([{ kind: 'hang' }]);
    const client = new AbortController();
    const pending = chat(user, ask('hi'), { signal: client.signal });
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).requests).toBe(1));
    client.abort();
    await pending.catch(() => {});
    await vi.waitFor(async () => expect((await user.fake.accountStats(user.accountId)).aborted).toBe(1), { timeout: 5000 });
  }, 20_000);

  it('answers 400 for bad JSON and for a bad param, naming it, without calling upstream', async () => {
    const user = await userWith();
    const badJson = await chat(user, '{"model": ');
    expect([badJson.status, (await errorOf(badJson)).code]).toEqual([400, 'invalid_json']);
    const badParam = await chat(user, { model: 'gpt-5.5', messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] });
    expect(badParam.status).toBe(400);
    expect((await errorOf(badParam)).param).toBe('messages[0].content[0].type');
    const noModel = await chat(user, ask('hi', { model: 'gpt-4o' }));
    expect([noModel.status, (await errorOf(noModel)).code]).toEqual([404, 'model_not_found']);
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });

  it('answers 405 for GET', async () => {
    const user = await userWith();
    const res = await exports.default.fetch(new Request(`${BASE}/v1/chat/completions`, { headers: { Authorization: `Bearer ${user.apiKey}` } }));
    expect([res.status, (await errorOf(res)).code]).toEqual([405, 'method_not_allowed']);
  });
});

describe('client quirks', () => {
  it('answers on /chat/completions without the /v1 prefix (Cursor), with the key in x-api-key', async () => {
    const user = await userWith();
    const res = await chat(null, ask('cursor'), { path: '/chat/completions', headers: { 'x-api-key': user.apiKey } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).choices[0].message.content).toBe('Hello from fake Codex: cursor');
  });

  it('answers a CORS preflight without a key, on both paths, and lets a browser read the answer', async () => {
    for (const path of ['/v1/chat/completions', '/chat/completions']) {
      const res = await exports.default.fetch(new Request(BASE + path, {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
      }));
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    }
    const user = await userWith();
    const res = await chat(user, ask('browser'), { headers: { Origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    await res.text();
  });
});
