/**
 * Conversation state the Codex backend does not keep, served from each user's ResponseStore:
 * `previous_response_id`, `item_reference`, and Chat reasoning across tool turns. Driven through
 * the whole Worker against the fake backend (which, like the real one, answers 404 to any item
 * reference or echoed item id), by hand and with real clients: the openai SDK and the AI SDK's
 * `.responses()` with its default settings.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
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

function post(user: SeededUser, path: string, body: unknown): Promise<Response> {
  return exports.default.fetch(
    new Request(BASE + path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

async function upstreamBodies(user: SeededUser): Promise<Json[]> {
  return (await user.fake.requests(user.accountId)).map((r: RecordedRequest) => r.body as Json);
}

/** Whether any upstream input item carried an id (the real backend answers 404 to those). */
const idsIn = (input: Json[]) => input.filter((item) => 'id' in item);

const sdkFetch = (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init));

async function respond(user: SeededUser, body: Json): Promise<Json> {
  const res = await post(user, '/v1/responses', { model: 'gpt-5.5', ...body });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

describe('previous_response_id', () => {
  it('continues a stored response: the backend gets the whole conversation, without the parameter or item ids', async () => {
    const user = await userWith([{ kind: 'ok', reasoningSummary: 'Thinking.', text: 'Paris.' }, { kind: 'ok', text: 'About 2 million.' }]);
    const first = await respond(user, { instructions: 'Be brief.', input: 'Capital of France?' });
    const second = await respond(user, { input: 'Its population?', previous_response_id: first.id });
    expect(second.output_text).toBe('About 2 million.');

    const [, sent] = await upstreamBodies(user);
    expect(sent).not.toHaveProperty('previous_response_id');
    expect(sent!.input.map((i: Json) => i.type ?? i.role)).toEqual(['message', 'reasoning', 'message', 'message']);
    expect(sent!.input[0].content[0].text).toBe('Capital of France?');
    expect(sent!.input[1].encrypted_content).toBe(first.output[0].encrypted_content);
    expect(sent!.input[2].content[0].text).toBe('Paris.');
    expect(sent!.input[3].content[0].text).toBe('Its population?');
    expect(idsIn(sent!.input)).toEqual([]);
  });

  it('follows a chain of several turns, streamed ones included', async () => {
    const user = await userWith();
    const first = await respond(user, { input: 'one' });
    const res = await post(user, '/v1/responses', { model: 'gpt-5.5', input: 'two', previous_response_id: first.id, stream: true });
    const text = await res.text();
    const secondId = /"id":"(resp_[0-9a-f]+)"/.exec(text)?.[1];
    expect(secondId).toBeDefined();
    // No retry: a client continues as soon as the stream ends, and must find the response stored.
    const third = await post(user, '/v1/responses', { model: 'gpt-5.5', input: 'three', previous_response_id: secondId });
    expect(third.status).toBe(200);
    await third.text();
    const sent = (await upstreamBodies(user)).at(-1)!;
    const texts = sent.input.map((i: Json) => i.content[0].text);
    expect(texts).toEqual(['one', 'Hello from fake Codex: one', 'two', 'Hello from fake Codex: two', 'three']);
  });

  it('answers 400 previous_response_not_found, without calling upstream, for an id we do not have', async () => {
    const user = await userWith();
    const res = await post(user, '/v1/responses', { model: 'gpt-5.5', input: 'hi', previous_response_id: 'resp_0123456789abcdef' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'previous_response_not_found',
        param: 'previous_response_id',
        message: expect.stringMatching(/^Previous response with id 'resp_0123456789abcdef' not found\./),
      },
    });
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });

  it('does not keep a response created with store:false', async () => {
    const user = await userWith();
    const first = await respond(user, { input: 'private', store: false });
    const res = await post(user, '/v1/responses', { model: 'gpt-5.5', input: 'more', previous_response_id: first.id });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.code).toBe('previous_response_not_found');
  });

  it('scopes ids to their owner: another user’s response is not found', async () => {
    const owner = await userWith();
    const first = await respond(owner, { input: 'mine' });
    const stranger = await userWith();
    const res = await post(stranger, '/v1/responses', { model: 'gpt-5.5', input: 'yours?', previous_response_id: first.id });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.code).toBe('previous_response_not_found');
  });

  it('works with the openai SDK', async () => {
    const { default: OpenAI } = await import('openai');
    const user = await userWith([{ kind: 'ok', text: 'Noted: 42.' }, { kind: 'ok', text: 'You said 42.' }]);
    const client = new OpenAI({ apiKey: user.apiKey, baseURL: `${BASE}/v1`, maxRetries: 0, fetch: sdkFetch });
    const first = await client.responses.create({ model: 'gpt-5.5', input: 'Remember 42.' });
    const second = await client.responses.create({ model: 'gpt-5.5', input: 'What did I say?', previous_response_id: first.id });
    expect(second.output_text).toBe('You said 42.');
    const sent = (await upstreamBodies(user)).at(-1)!;
    expect(sent.input.map((i: Json) => i.content[0].text)).toEqual(['Remember 42.', 'Noted: 42.', 'What did I say?']);
  }, 20_000);
});

describe('item_reference', () => {
  it('expands a reference into the stored item, encrypted reasoning included', async () => {
    const user = await userWith([{ kind: 'ok', reasoningSummary: 'Hmm.', toolCalls: [{ name: 'lookup', arguments: '{}', callId: 'call_1' }] }]);
    const first = await respond(user, { input: 'Look it up.' });
    const reasoning = first.output.find((i: Json) => i.type === 'reasoning');
    const res = await post(user, '/v1/responses', {
      model: 'gpt-5.5',
      input: [
        { role: 'user', content: 'Look it up.' },
        { type: 'item_reference', id: reasoning.id },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'found' },
      ],
    });
    expect(res.status).toBe(200);
    const sent = (await upstreamBodies(user)).at(-1)!;
    expect(sent.input[1]).toEqual({ type: 'reasoning', summary: reasoning.summary, encrypted_content: reasoning.encrypted_content });
    expect(idsIn(sent.input)).toEqual([]);
  });

  it('answers 404 in OpenAI’s shape for an item we do not have, without calling upstream', async () => {
    const user = await userWith();
    const res = await post(user, '/v1/responses', { model: 'gpt-5.5', input: [{ role: 'user', content: 'hi' }, { type: 'item_reference', id: 'rs_missing' }] });
    expect(res.status).toBe(404);
    const error = ((await res.json()) as Json).error;
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'item_not_found', param: 'input[1]' });
    expect(error.message).toMatch(/^Item with id 'rs_missing' not found\./);
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });

  it('serves a request without references even when the store cannot be reached', async () => {
    const user = await userWith();
    const unreachable = { getByName: () => { throw new Error('the store must not be asked'); } };
    const ctx = createExecutionContext();
    const res = await app.request(
      '/v1/responses',
      { method: 'POST', headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'gpt-5.5', input: 'hi' }) },
      { ...env, RESPONSE_STORE: unreachable },
      ctx,
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).output_text).toBe('Hello from fake Codex: hi');
    await waitOnExecutionContext(ctx);
  });
});

describe('the AI SDK .responses() with its default settings', () => {
  it('runs a multi-step tool loop with a reasoning model (it sends item references)', async () => {
    const { createOpenAI } = await import('@ai-sdk/openai');
    const { generateText, isStepCount, tool } = await import('ai');
    const user = await userWith([
      { kind: 'ok', reasoningSummary: 'I need the weather.', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
      { kind: 'ok', reasoningSummary: 'And the time.', text: 'Checking the time.', toolCalls: [{ name: 'get_time', arguments: '{"city":"Oslo"}' }] },
      { kind: 'ok', reasoningSummary: 'Done.', text: 'Oslo: 3C at noon.' },
    ]);
    const clientBodies: Json[] = [];
    const openai = createOpenAI({
      apiKey: user.apiKey,
      baseURL: `${BASE}/v1`,
      fetch: async (input, init) => {
        clientBodies.push(JSON.parse(String(init?.body)) as Json);
        return sdkFetch(input, init);
      },
    });
    const city = z.object({ city: z.string() });
    const result = await generateText({
      model: openai.responses('gpt-5.5'),
      prompt: 'Weather and time in Oslo?',
      tools: {
        get_weather: tool({ inputSchema: city, execute: async ({ city }) => `${city}: 3C` }),
        get_time: tool({ inputSchema: city, execute: async () => 'noon' }),
      },
      stopWhen: isStepCount(3),
      maxRetries: 0,
    });
    expect(result.text).toBe('Oslo: 3C at noon.');
    expect(result.steps).toHaveLength(3);
    // What the SDK sent: no store flag (OpenAI's default, true) and references to the reasoning.
    expect(clientBodies[2]).not.toHaveProperty('store');
    expect(clientBodies[2]!.input.filter((i: Json) => i.type === 'item_reference')).toHaveLength(3);

    const bodies = await upstreamBodies(user);
    expect(bodies).toHaveLength(3);
    const last = bodies[2]!.input as Json[];
    // Both earlier reasoning items and the assistant's text reached the backend whole, in order.
    expect(last.map((i) => i.type ?? i.role)).toEqual([
      'user', 'reasoning', 'function_call', 'function_call_output', 'reasoning', 'message', 'function_call', 'function_call_output',
    ]);
    expect(last[5]).toMatchObject({ role: 'assistant', content: [{ type: 'output_text', text: 'Checking the time.' }] });
    expect(last.filter((i) => i.type === 'reasoning').every((i) => typeof i.encrypted_content === 'string')).toBe(true);
    expect(idsIn(last)).toEqual([]);
  }, 30_000);
});

describe('Chat Completions reasoning across tool turns', () => {
  it('sends the reasoning of the tool-call turn back with the tool results', async () => {
    const { default: OpenAI } = await import('openai');
    const user = await userWith([
      { kind: 'ok', reasoningSummary: 'Need the weather.', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}', callId: 'call_w' }] },
      { kind: 'ok', text: 'It is 3C.' },
    ]);
    const client = new OpenAI({ apiKey: user.apiKey, baseURL: `${BASE}/v1`, maxRetries: 0, fetch: sdkFetch });
    const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
    const messages: Parameters<typeof client.chat.completions.create>[0]['messages'] = [{ role: 'user', content: 'Weather in Oslo?' }];
    const first = await client.chat.completions.create({ model: 'gpt-5.5', messages, tools: [weather] });
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: 'call_w', content: '3C' });
    const second = await client.chat.completions.create({ model: 'gpt-5.5', messages, tools: [weather] });
    expect(second.choices[0]?.message.content).toBe('It is 3C.');

    const issued = (await user.fake.requests(user.accountId)).length;
    expect(issued).toBe(2);
    const [, sent] = await upstreamBodies(user);
    expect(sent!.input.map((i: Json) => i.type)).toEqual(['message', 'reasoning', 'function_call', 'function_call_output']);
    expect(sent!.input[1]).toMatchObject({ type: 'reasoning', encrypted_content: expect.stringMatching(/^gAAAA/) });
    expect(idsIn(sent!.input)).toEqual([]);
  }, 20_000);
});
