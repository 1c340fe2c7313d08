/**
 * The Anthropic Messages surface through the whole Worker against the fake Codex backend: what
 * an Anthropic client receives (messages, named SSE events, Anthropic-shaped errors) and what
 * the backend is sent.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { RecordedRequest, ResponseStep } from '../../support/fake-codex/types.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

const BASE = 'https://usemysub.test';
type Json = Record<string, any>;

async function userWith(steps: ResponseStep[] = []): Promise<SeededUser> {
  const user = await seedUser();
  if (steps.length > 0) await user.fake.scriptResponses(user.accountId, steps);
  return user;
}

function send(user: SeededUser | null, body: unknown, init: { path?: string; method?: string; headers?: Record<string, string> } = {}) {
  const headers = new Headers({ 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...init.headers });
  if (user && !headers.has('authorization')) headers.set('x-api-key', user.apiKey);
  const method = init.method ?? 'POST';
  return exports.default.fetch(new Request(BASE + (init.path ?? '/v1/messages'), {
    method, headers, body: method === 'GET' ? null : JSON.stringify(body),
  }));
}

async function lastUpstream(user: SeededUser): Promise<RecordedRequest & { body: Json }> {
  const last = (await user.fake.requests(user.accountId)).at(-1);
  if (!last) throw new Error('the fake saw no request');
  return last as RecordedRequest & { body: Json };
}

/** The named events of a streamed answer, in order. */
async function eventsOf(res: Response): Promise<{ event: string; data: Json }[]> {
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return (await res.text()).split('\n\n').filter((f) => f.startsWith('event: ')).map((f) => {
    const [head = '', data = ''] = f.split('\n');
    return { event: head.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) as Json };
  });
}

const ask = (text: string, extra: Json = {}) => ({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: text }], ...extra });

describe('POST /v1/messages', () => {
  it('answers one message with x-api-key, mapping the Claude model to the default GPT model', async () => {
    const user = await userWith();
    const res = await send(user, ask('ping', { system: 'Be terse.', metadata: { user_id: 'u1' }, temperature: 0.3 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: expect.stringMatching(/^msg_/), type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Hello from fake Codex: ping' }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number), cache_read_input_tokens: expect.any(Number) },
    });
    const seen = await lastUpstream(user);
    expect(seen.body).toMatchObject({ model: 'gpt-5.5', instructions: 'Be terse.', reasoning: { effort: 'medium' }, store: false, stream: true });
    for (const name of ['max_tokens', 'metadata', 'temperature', 'max_output_tokens']) expect(seen.body).not.toHaveProperty(name);
  });

  it('takes the key as Authorization: Bearer too (ANTHROPIC_AUTH_TOKEN)', async () => {
    const user = await userWith();
    const res = await send(user, ask('hi'), { headers: { authorization: `Bearer ${user.apiKey}` } });
    expect(res.status).toBe(200);
  });

  it('streams the event sequence Anthropic clients expect', async () => {
    const user = await userWith([{ kind: 'ok', text: 'Streamed answer.', chunkSize: 4 }]);
    const events = await eventsOf(await send(user, ask('go', { stream: true })));
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text).join('')).toBe('Streamed answer.');
    expect(events.at(-2)!.data).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: expect.any(Number) } });
  });

  it('does a tool round trip with thinking: the encrypted reasoning goes out in the signature and comes back', async () => {
    const user = await userWith([
      { kind: 'ok', reasoningSummary: 'I should look it up.', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_p' }] },
      { kind: 'ok', text: 'Paris is 18C.' },
    ]);
    const tools = [{ name: 'get_weather', description: 'Weather now', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const messages: Json[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const thinking = { type: 'enabled', budget_tokens: 20_000 };
    const first = (await (await send(user, ask('', { messages, tools, thinking, tool_choice: { type: 'any' } }))).json()) as Json;
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([
      { type: 'thinking', thinking: 'I should look it up.', signature: expect.stringMatching(/^usemysub\.v1\./) },
      { type: 'tool_use', id: 'call_p', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    const out = await lastUpstream(user);
    expect(out.body).toMatchObject({
      reasoning: { effort: 'high', summary: 'auto' }, tool_choice: 'required',
      tools: [{ type: 'function', name: 'get_weather', description: 'Weather now', parameters: tools[0]!.input_schema, strict: false }],
    });

    messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_p', content: '18C' }] });
    const second = (await (await send(user, ask('', { messages, tools, thinking }))).json()) as Json;
    expect(second).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'Paris is 18C.' }] });
    const back = await lastUpstream(user);
    expect(back.body.input.slice(1)).toEqual([
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'I should look it up.' }], encrypted_content: first.content[0].signature.slice('usemysub.v1.'.length) },
      { type: 'function_call', call_id: 'call_p', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_p', output: '18C' },
    ]);
  });

  it('without thinking, keeps the reasoning of a tool turn itself and puts it back when the results come', async () => {
    const user = await userWith([
      { kind: 'ok', reasoningSummary: 'Check the file.', toolCalls: [{ name: 'Read', arguments: '{"file_path":"/a"}', callId: 'call_r' }] },
      { kind: 'ok', text: 'It says hi.' },
    ]);
    const tools = [{ name: 'Read', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } }];
    const messages: Json[] = [{ role: 'user', content: 'What is in /a?' }];
    const first = (await (await send(user, ask('', { messages, tools }))).json()) as Json;
    expect(first.content).toEqual([{ type: 'tool_use', id: 'call_r', name: 'Read', input: { file_path: '/a' } }]);
    expect((await lastUpstream(user)).body.reasoning).toEqual({ effort: 'medium' });
    messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_r', content: 'hi' }] });
    await (await send(user, ask('', { messages, tools }))).text();
    const back = await lastUpstream(user);
    expect(back.body.input.map((item: Json) => item.type)).toEqual(['message', 'reasoning', 'function_call', 'function_call_output']);
    expect(back.body.input[1].encrypted_content).toEqual(expect.any(String));
  });

  it('answers any request sent with anthropic-version in Anthropic’s error shape', async () => {
    const res = await send(null, null, { path: '/v1/models', method: 'GET', headers: { 'x-api-key': 'cpk_wrong' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('follows the user’s own Claude model map over the server default, from the request after it is saved', async () => {
    const user = await userWith();
    await (await send(user, ask('hi', { model: 'claude-3-5-haiku-latest' }))).text();
    expect((await lastUpstream(user)).body).toMatchObject({ model: 'gpt-5.4-mini', reasoning: { effort: 'low' } });
    // Saved as the dashboard saves it: through the broker, which hands the entries to the key check.
    await env.AUTH_BROKER.getByName(user.userId).setClaudeModels(user.userId, { haiku: 'gpt-5.4-high' });
    await (await send(user, ask('hi', { model: 'claude-3-5-haiku-latest' }))).text();
    expect((await lastUpstream(user)).body).toMatchObject({ model: 'gpt-5.4', reasoning: { effort: 'high' } });
  });

  it('answers a Claude model it cannot map with a not_found_error', async () => {
    const user = await userWith();
    const res = await send(user, ask('hi', { model: 'claude-mystery-9' }));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('claude-mystery-9') } });
  });

  it('answers a bad key and a bad body in Anthropic’s error shape', async () => {
    const denied = await send(null, ask('hi'), { headers: { 'x-api-key': 'cpk_wrong' } });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
    const user = await userWith();
    const bad = await send(user, { model: 'claude-sonnet-4-5', max_tokens: 10 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: "Missing required parameter: 'messages'." } });
  });

  it('answers an unknown path and a wrong method in Anthropic’s shape too', async () => {
    const user = await userWith();
    const unknown = await send(user, ask('hi'), { path: '/v1/messages/batches' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const get = await send(user, null, { method: 'GET' });
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'GET is not allowed on this path; use POST.' } });
  });

  it('answers the usage limit with a 429 rate_limit_error and retry-after', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 600;
    const user = await userWith([{ kind: 'usage_limit', resetsAt }]);
    const res = await send(user, ask('hi'));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(500);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('ends a stream cut by the backend with an error event', async () => {
    const user = await userWith([{ kind: 'truncated' }]);
    const events = await eventsOf(await send(user, ask('hi', { stream: true })));
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', error: { type: 'api_error' } } });
    expect(events.map((e) => e.event)).not.toContain('message_stop');
  });
});

describe('POST /v1/messages/count_tokens and GET /v1/models', () => {
  it('estimates the input tokens of a request without calling the backend', async () => {
    const user = await userWith();
    const res = await send(user, { model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'x'.repeat(400) }] }, { path: '/v1/messages/count_tokens' });
    expect(res.status).toBe(200);
    const { input_tokens } = (await res.json()) as Json;
    expect(input_tokens).toBeGreaterThan(100);
    expect(await user.fake.requests(user.accountId)).toHaveLength(0);
  });

  it('lists models (and one model) in Anthropic’s shape when asked with anthropic-version, the OpenAI list otherwise', async () => {
    const user = await userWith();
    const anthropic = (await (await send(user, null, { path: '/v1/models', method: 'GET' })).json()) as Json;
    expect(anthropic).toMatchObject({ has_more: false, first_id: 'claude-opus' });
    expect(anthropic.data.slice(0, 3).map((m: Json) => m.display_name)).toEqual(['claude-opus → gpt-5.5-high', 'claude-sonnet → gpt-5.5', 'claude-haiku → gpt-5.4-mini-low']);
    expect(anthropic.data[0]).toEqual({ type: 'model', id: 'claude-opus', display_name: expect.any(String), created_at: expect.any(String) });
    const one = await send(user, null, { path: '/v1/models/claude-haiku', method: 'GET' });
    expect(await one.json()).toEqual(anthropic.data[2]);
    const missing = await send(user, null, { path: '/v1/models/claude-nothing', method: 'GET' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const openai = (await (await exports.default.fetch(new Request(`${BASE}/v1/models`, { headers: { authorization: `Bearer ${user.apiKey}` } }))).json()) as Json;
    expect(openai.object).toBe('list');
  });
});
