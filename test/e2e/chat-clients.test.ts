/**
 * Chat Completions as real clients use it, end to end: the official `openai` SDK and the
 * Vercel AI SDK (`ai` + `@ai-sdk/openai-compatible`) against wrangler dev → relay → fake Codex
 * backend. Each test scripts the backend's answers, then checks what the client got and what
 * the backend was sent.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, isStepCount, Output, streamText, tool } from 'ai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { CreatedFamily, ResponseStep } from '../support/fake-codex/index.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

let stack: LocalStack;
let family: CreatedFamily;
let proxyKey: string;
let client: OpenAI;
let provider: ReturnType<typeof createOpenAICompatible>;

// A 1×1 PNG.
const PNG = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='), (c) => c.charCodeAt(0));
const PNG_DATA_URL = `data:image/png;base64,${Buffer.from(PNG).toString('base64')}`;

beforeAll(async () => {
  stack = await startLocalStack();
  family = stack.fake.state.createFamily();
  const authFile = join(stack.persistTo, '..', 'auth.json');
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const output = await stack.provision(['--email', 'chat@example.com', '--auth-file', authFile]);
  proxyKey = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
  client = new OpenAI({ apiKey: proxyKey, baseURL: `${stack.workerUrl}/v1`, maxRetries: 0 });
  provider = createOpenAICompatible({
    name: 'usemysub',
    baseURL: `${stack.workerUrl}/v1`,
    apiKey: proxyKey,
    includeUsage: true,
    supportsStructuredOutputs: true,
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

function script(...steps: ResponseStep[]): void {
  stack.fake.state.scriptResponses(family.accountId, steps);
}

/** The body of the latest request the backend received. */
function lastUpstreamBody(): Record<string, any> {
  return stack.fake.state.requests(family.accountId).at(-1)?.body as Record<string, any>;
}

const aborted = () => stack.fake.state.accountStats(family.accountId).aborted;

const weather = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('the official openai SDK', () => {
  it('gets a plain answer with usage', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'ping' }] });
    expect(completion.choices[0]?.message.content).toBe('Hello from fake Codex: ping');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('streams the answer chunk by chunk, usage last', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-5.5', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello from fake Codex: stream please');
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(1);
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('passes the SDK’s own stream helper checks, ending in a complete message', async () => {
    script({ kind: 'ok', reasoningSummary: 'Weighing it.', text: 'Helper answer.' });
    const stream = client.chat.completions.stream({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'helper' }] });
    let reasoning = '';
    for await (const chunk of stream) reasoning += (chunk.choices[0]?.delta as { reasoning_content?: string }).reasoning_content ?? '';
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Helper answer.');
    expect(reasoning).toBe('Weighing it.');
  });

  it('does a tool round trip with parallel calls', async () => {
    script(
      { kind: 'ok', repeatOutputIndexZero: true, toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_p' },
        { name: 'get_weather', arguments: '{"city":"Rome"}', callId: 'call_r' },
      ] },
      { kind: 'ok', text: 'Paris 18C, Rome 21C.' },
    );
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris and Rome?' }];
    const stream = await client.chat.completions.create({ model: 'gpt-5.5', messages, tools: [weather], stream: true });
    const calls: { id: string; name: string; arguments: string }[] = [];
    let finish = '';
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        const entry = (calls[call.index] ??= { id: '', name: '', arguments: '' });
        entry.id ||= call.id ?? '';
        entry.name ||= call.function?.name ?? '';
        entry.arguments += call.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(calls).toEqual([
      { id: 'call_p', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_r', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
    messages.push(
      { role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) },
      { role: 'tool', tool_call_id: 'call_p', content: '18C' },
      { role: 'tool', tool_call_id: 'call_r', content: '21C' },
    );
    const answer = await client.chat.completions.create({ model: 'gpt-5.5', messages, tools: [weather] });
    expect(answer.choices[0]?.message.content).toBe('Paris 18C, Rome 21C.');
    expect(lastUpstreamBody().input.filter((i: { type: string }) => i.type === 'function_call_output')).toEqual([
      { type: 'function_call_output', call_id: 'call_p', output: '18C' },
      { type: 'function_call_output', call_id: 'call_r', output: '21C' },
    ]);
  });

  it('sends an image and gets structured output parsed by the SDK', async () => {
    script({ kind: 'ok', text: '{"animal":"cat","count":1}' });
    const Animal = z.object({ animal: z.string(), count: z.number() });
    const completion = await client.chat.completions.parse({
      model: 'gpt-5.5-low',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: PNG_DATA_URL } }] }],
      response_format: zodResponseFormat(Animal, 'animal'),
    });
    expect(completion.choices[0]?.message.parsed).toEqual({ animal: 'cat', count: 1 });
    const body = lastUpstreamBody();
    expect(body.input[0].content[1]).toEqual({ type: 'input_image', image_url: PNG_DATA_URL, detail: 'auto' });
    expect(body.text.format).toMatchObject({ type: 'json_schema', name: 'animal', strict: true });
    expect(body.reasoning.effort).toBe('low');
  });

  it('raises a RateLimitError with the reset time at the usage limit', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 1800;
    script({ kind: 'usage_limit', resetsAt });
    const error = await client.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.code).toBe('usage_limit_reached');
    expect(Number(rateLimit.headers?.get('retry-after'))).toBeGreaterThan(1700);
    expect(rateLimit.message).toContain(new Date(resetsAt * 1000).toISOString());
  });

  it('raises an APIError while iterating when the model fails mid-stream or the stream is cut', async () => {
    script({ kind: 'failed', code: 'server_error', message: 'The model crashed.' }, { kind: 'truncated', text: 'cut short here' });
    for (const code of ['upstream_error', 'upstream_error']) {
      const stream = await client.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }], stream: true });
      const error = await (async () => {
        for await (const _chunk of stream) {
          // consume
        }
      })().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe(code);
    }
  });

  it('stops the upstream request when the caller aborts mid-stream', async () => {
    script({ kind: 'slow', delayMs: 500, text: 'a long and slow answer to abort' });
    const before = aborted();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { signal: controller.signal },
    );
    for await (const _chunk of stream) {
      controller.abort();
    }
    await vi.waitFor(() => expect(aborted()).toBe(before + 1), { timeout: 10_000 });
  });
});

describe('the Vercel AI SDK with @ai-sdk/openai-compatible', () => {
  it('generates and streams text, with usage', async () => {
    const generated = await generateText({ model: provider('gpt-5.5'), prompt: 'vercel', maxRetries: 0 });
    expect(generated.text).toBe('Hello from fake Codex: vercel');
    expect(generated.finishReason).toBe('stop');
    const streamed = streamText({ model: provider('gpt-5.5'), prompt: 'vercel stream', maxRetries: 0 });
    let text = '';
    for await (const piece of streamed.textStream) text += piece;
    expect(text).toBe('Hello from fake Codex: vercel stream');
    expect((await streamed.usage).totalTokens).toBeGreaterThan(0);
  });

  it('streams reasoning apart from the text', async () => {
    script({ kind: 'ok', reasoningSummary: 'Considering options.', text: 'Decided.' });
    const result = streamText({ model: provider('gpt-5.5-high'), prompt: 'think', maxRetries: 0 });
    const parts: string[] = [];
    for await (const part of result.fullStream) parts.push(part.type);
    expect(await result.text).toBe('Decided.');
    expect(await result.reasoningText).toBe('Considering options.');
    expect(parts.indexOf('reasoning-delta')).toBeLessThan(parts.indexOf('text-delta'));
  });

  it('runs a tool and answers with its result', async () => {
    script({ kind: 'ok', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }] }, { kind: 'ok', text: 'Oslo is 3C.' });
    const result = await generateText({
      model: provider('gpt-5.5'),
      prompt: 'Weather in Oslo?',
      tools: { get_weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `${city}: 3C` }) },
      stopWhen: isStepCount(2),
      maxRetries: 0,
    });
    expect(result.text).toBe('Oslo is 3C.');
    expect(result.steps[0]?.toolCalls[0]).toMatchObject({ toolName: 'get_weather', input: { city: 'Oslo' } });
    const outputs = lastUpstreamBody().input.filter((i: { type: string }) => i.type === 'function_call_output');
    expect(outputs).toEqual([expect.objectContaining({ output: expect.stringContaining('Oslo: 3C') })]);
  });

  it('sends an image and gets a structured object back', async () => {
    script({ kind: 'ok', text: '{"color":"red"}' });
    const result = await generateText({
      model: provider('gpt-5.5'),
      output: Output.object({ schema: z.object({ color: z.string() }) }),
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Which color?' }, { type: 'file', data: PNG, mediaType: 'image/png' }] }],
      maxRetries: 0,
    });
    expect(result.output).toEqual({ color: 'red' });
    const body = lastUpstreamBody();
    expect(body.input[0].content[1]).toMatchObject({ type: 'input_image', image_url: PNG_DATA_URL });
    expect(body.text.format).toMatchObject({ type: 'json_schema' });
  });

  it('reports the usage limit as an API call error with status 429', async () => {
    script({ kind: 'usage_limit' });
    const error = await generateText({ model: provider('gpt-5.5'), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 429 });
    expect(String((error as Error).message)).toMatch(/usage limit/);
  });

  it('reports a mid-stream failure and a cut stream as errors, not as a finished answer', async () => {
    script({ kind: 'error_event', code: 'server_error', message: 'Broke.' }, { kind: 'truncated', text: 'cut here' });
    for (let i = 0; i < 2; i++) {
      const errors: unknown[] = [];
      const result = streamText({ model: provider('gpt-5.5'), prompt: 'hi', maxRetries: 0, onError: ({ error }) => void errors.push(error) });
      const parts: string[] = [];
      for await (const part of result.fullStream) parts.push(part.type);
      expect(parts).toContain('error');
      expect(errors.length).toBeGreaterThan(0);
    }
  });

  it('stops the upstream request when the caller aborts', async () => {
    script({ kind: 'slow', delayMs: 500, text: 'slow answer for the vercel sdk' });
    const before = aborted();
    const controller = new AbortController();
    const result = streamText({ model: provider('gpt-5.5'), prompt: 'hi', abortSignal: controller.signal, maxRetries: 0 });
    // Depending on timing the AI SDK ends the stream with an abort part or rethrows the aborted
    // fetch's error; either way the upstream request must stop.
    await (async () => {
      for await (const part of result.fullStream) if (part.type === 'text-delta') controller.abort();
    })().catch(() => {});
    await vi.waitFor(() => expect(aborted()).toBe(before + 1), { timeout: 10_000 });
  });
});
