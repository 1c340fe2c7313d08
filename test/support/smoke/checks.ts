/**
 * The smoke suite: one short check of each thing a client relies on, against any deployment
 * given its base URL and a proxy key. The same checks run against a real deployment (opt-in,
 * test/node/real-deployment-smoke.test.ts) and in CI against the local stack with the fake
 * backend (test/e2e/smoke-local.test.ts), so they cannot rot unseen. They assert shape and
 * behaviour that hold on the real backend, never exact wording, and keep prompts short and
 * effort low to spend little quota.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, isStepCount, tool } from 'ai';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/** Each check's name; the local run scripts the fake backend's answer by it. */
export type SmokeCheck =
  | 'chat'
  | 'chat-stream'
  | 'responses'
  | 'responses-stream'
  | 'tool-round-trip'
  | 'ai-sdk-tool-loop'
  | 'previous-response-id'
  | 'structured-output'
  | 'image';

export interface SmokeTarget {
  /** The deployment's origin, e.g. https://usemysub.example.workers.dev (no /v1). */
  baseUrl: string;
  apiKey: string;
  /** The model every check uses; by default a small one picked from /v1/models. */
  model?: string;
  /** Runs before each check that calls the model (the local run scripts the fake here). */
  before?: (check: SmokeCheck) => void | Promise<void>;
}

/** An 8×8 solid red PNG. */
export const RED_PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC';

const EFFORT_SUFFIX = /-(none|minimal|low|medium|high|xhigh|max|ultra)$/;

/** A small listed model: a "mini", else a "luna", else the first base model listed. */
export function pickSmokeModel(ids: string[]): string | undefined {
  const base = ids.filter((id) => !EFFORT_SUFFIX.test(id) || !ids.includes(id.replace(EFFORT_SUFFIX, '')));
  return base.find((id) => id.includes('mini')) ?? base.find((id) => id.includes('luna')) ?? base[0];
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};

/** Registers the smoke checks; `target` is read when they start (a local stack starts in beforeAll). */
export function defineSmokeSuite(target: () => SmokeTarget): void {
  let t: SmokeTarget;
  let client: OpenAI;
  let model: string;
  let listed: string[] = [];
  /** Low effort where the model offers it (its `-low` alias is listed), else the model's default. */
  let low: { effort: 'low' } | undefined;

  const before = async (check: SmokeCheck) => t.before?.(check);

  beforeAll(async () => {
    t = target();
    client = new OpenAI({ apiKey: t.apiKey, baseURL: `${t.baseUrl.replace(/\/+$/, '')}/v1`, maxRetries: 1 });
    for await (const entry of client.models.list()) listed.push(entry.id);
    model = t.model ?? pickSmokeModel(listed) ?? '';
    low = listed.includes(`${model}-low`) ? { effort: 'low' } : undefined;
    // The first call of a deployment may wait for a token refresh, the account's model catalog
    // and a relay container that is starting, well past vitest's 10 s default for hooks.
  }, 90_000);

  describe('models', () => {
    it('lists OpenAI-shaped models, the smoke model among them, and serves it by id', async () => {
      expect(listed.length).toBeGreaterThan(0);
      expect(listed, `CODEX_SMOKE_MODEL=${model} is not listed`).toContain(model);
      const one = await client.models.retrieve(model);
      expect(one).toMatchObject({ id: model, object: 'model' });
      expect(typeof one.owned_by).toBe('string');
    });
  });

  describe('Chat Completions', () => {
    it('answers a non-streamed request with text and usage', async () => {
      await before('chat');
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Say hello in three words.' }],
        ...(low && { reasoning_effort: 'low' }),
      });
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      expect(completion.choices[0]?.message.content?.trim()).toBeTruthy();
      expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    });

    it('streams chunks that add up to the answer, usage last when asked for', async () => {
      await before('chat-stream');
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Count from one to five in words.' }],
        stream: true,
        stream_options: { include_usage: true },
        ...(low && { reasoning_effort: 'low' }),
      });
      let text = '';
      let finish: string | null | undefined;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        usage = chunk.usage ?? usage;
      }
      expect(text.trim()).toBeTruthy();
      expect(finish).toBe('stop');
      expect(usage?.total_tokens).toBeGreaterThan(0);
    });

    it('completes a tool round trip: a call with JSON arguments, then an answer using its result', async () => {
      await before('tool-round-trip');
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Oslo? Use the tool.' }];
      const first = await client.chat.completions.create({
        model,
        messages,
        tools: [weatherTool],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        ...(low && { reasoning_effort: 'low' }),
      });
      expect(first.choices[0]?.finish_reason).toBe('tool_calls');
      const call = first.choices[0]?.message.tool_calls?.[0];
      expect(call?.type).toBe('function');
      if (call?.type !== 'function') return;
      expect(call.function.name).toBe('get_weather');
      expect(JSON.parse(call.function.arguments)).toHaveProperty('city');
      messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature_c":3,"sky":"clear"}' });
      const second = await client.chat.completions.create({ model, messages, tools: [weatherTool], ...(low && { reasoning_effort: 'low' }) });
      expect(second.choices[0]?.finish_reason).toBe('stop');
      expect(second.choices[0]?.message.content).toMatch(/3|three/i);
    });

    it('sees an inline image', async () => {
      await before('image');
      const completion = await client.chat.completions.create({
        model,
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'What colour is this image? One word.' },
            { type: 'image_url', image_url: { url: RED_PNG_DATA_URL } },
          ],
        }],
        ...(low && { reasoning_effort: 'low' }),
      });
      expect(completion.choices[0]?.message.content).toMatch(/red/i);
    });

    it('returns structured output that matches a strict json_schema', async () => {
      await before('structured-output');
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'What is 2 + 2?' }],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'sum',
            strict: true,
            schema: { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false },
          },
        },
        ...(low && { reasoning_effort: 'low' }),
      });
      const parsed = z.object({ answer: z.number().int() }).strict().parse(JSON.parse(completion.choices[0]?.message.content ?? ''));
      expect(parsed.answer).toBe(4);
    });
  });

  describe('Responses', () => {
    it('answers a non-streamed request with a completed response', async () => {
      await before('responses');
      const response = await client.responses.create({ model, input: 'Say hello in three words.', ...(low && { reasoning: low }) });
      expect(response.id).toMatch(/^resp_/);
      expect(response.status).toBe('completed');
      expect(response.output_text.trim()).toBeTruthy();
      expect(response.usage?.total_tokens).toBeGreaterThan(0);
    });

    it('streams events from response.created to response.completed', async () => {
      await before('responses-stream');
      const stream = await client.responses.create({ model, input: 'Count from one to five in words.', stream: true, ...(low && { reasoning: low }) });
      const types: string[] = [];
      let text = '';
      let completed: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') completed = event.response;
      }
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');
      expect(text.trim()).toBeTruthy();
      expect(completed?.output_text ?? completed?.output.length).toBeTruthy();
    });

    it('continues with previous_response_id, and refuses an id it does not have', async () => {
      await before('previous-response-id');
      const first = await client.responses.create({
        model,
        input: 'Remember the code word "kiwi". Reply only "ok".',
        ...(low && { reasoning: low }),
      });
      const second = await client.responses.create({
        model,
        input: 'What was the code word? Reply with the word only.',
        previous_response_id: first.id,
        ...(low && { reasoning: low }),
      });
      expect(second.output_text).toMatch(/kiwi/i);
      await expect(client.responses.create({ model, input: 'hi', previous_response_id: 'resp_smoke_unknown' })).rejects.toMatchObject({
        status: 400,
        code: 'previous_response_not_found',
      });
    });

    it('runs an AI SDK .responses() multi-step tool loop with default settings', async () => {
      await before('ai-sdk-tool-loop');
      // Record what the SDK sends: the check is only worth its quota while the SDK still refers to
      // the model's reasoning by id (`item_reference`), which the backend itself cannot resolve.
      const sent: { input?: { type?: string }[] }[] = [];
      const provider = createOpenAI({
        apiKey: t.apiKey,
        baseURL: `${t.baseUrl.replace(/\/+$/, '')}/v1`,
        fetch: async (input, init) => {
          if (typeof init?.body === 'string') sent.push(JSON.parse(init.body) as (typeof sent)[number]);
          return fetch(input, init);
        },
      });
      let calls = 0;
      const result = await generateText({
        model: provider.responses(model),
        prompt: 'Use get_weather for Oslo, then tell me the temperature in one short sentence.',
        tools: {
          get_weather: tool({
            description: 'Current weather for a city.',
            inputSchema: z.object({ city: z.string() }),
            execute: async () => {
              calls += 1;
              return { temperature_c: 3 };
            },
          }),
        },
        stopWhen: isStepCount(4),
        maxRetries: 1,
      });
      expect(calls).toBeGreaterThan(0);
      expect(result.steps.length).toBeGreaterThanOrEqual(2);
      expect(result.finishReason).toBe('stop');
      expect(result.text).toMatch(/3|three/i);
      const referenced = sent.slice(1).flatMap((body) => body.input ?? []).filter((item) => item.type === 'item_reference');
      expect(referenced.length, 'the AI SDK sent no item_reference, so this check no longer covers them').toBeGreaterThan(0);
    });
  });

  describe('authentication', () => {
    it('refuses a wrong key with 401 in OpenAI shape', async () => {
      const response = await fetch(`${t.baseUrl.replace(/\/+$/, '')}/v1/models`, {
        headers: { authorization: `Bearer cpk_${'0'.repeat(43)}` },
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error?: Record<string, unknown> };
      expect(body.error).toMatchObject({ code: 'invalid_api_key', param: null });
      expect(['authentication_error', 'invalid_request_error']).toContain(body.error?.type);
      expect(typeof body.error?.message).toBe('string');
    });
  });
}
