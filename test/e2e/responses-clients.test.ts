/**
 * Stored conversation state as real clients use it, end to end: the AI SDK's `.responses()` in a
 * multi-step tool loop with a reasoning model and its default settings (it sends item
 * references), and the official `openai` SDK continuing with `previous_response_id`, against
 * wrangler dev → relay → fake Codex backend. The fake answers any item reference or echoed item
 * id with the real backend's 404, so only a proxy that expanded them gets through.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, isStepCount, tool } from 'ai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CreatedFamily, ResponseStep } from '../support/fake-codex/index.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

type Json = Record<string, any>;

let stack: LocalStack;
let family: CreatedFamily;
let proxyKey: string;

beforeAll(async () => {
  stack = await startLocalStack();
  family = stack.fake.state.createFamily();
  const authFile = join(stack.persistTo, '..', 'auth.json');
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const output = await stack.provision(['--email', 'responses@example.com', '--auth-file', authFile]);
  proxyKey = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

function script(...steps: ResponseStep[]): void {
  stack.fake.state.scriptResponses(family.accountId, steps);
}

const upstreamBodies = () => stack.fake.state.requests(family.accountId).map((r) => r.body as Json);

describe('the AI SDK .responses() with its default settings', () => {
  it('runs a multi-step tool loop with a reasoning model, its reasoning references expanded', async () => {
    script(
      { kind: 'ok', reasoningSummary: 'I need the weather.', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
      { kind: 'ok', reasoningSummary: 'Now the wind.', toolCalls: [{ name: 'get_wind', arguments: '{"city":"Oslo"}' }] },
      { kind: 'ok', reasoningSummary: 'Done.', text: 'Oslo: 3C, calm.' },
    );
    const before = upstreamBodies().length;
    const openai = createOpenAI({ apiKey: proxyKey, baseURL: `${stack.workerUrl}/v1` });
    const city = z.object({ city: z.string() });
    const result = await generateText({
      model: openai.responses('gpt-5.5'),
      prompt: 'Weather and wind in Oslo?',
      tools: {
        get_weather: tool({ inputSchema: city, execute: async ({ city }) => `${city}: 3C` }),
        get_wind: tool({ inputSchema: city, execute: async () => 'calm' }),
      },
      stopWhen: isStepCount(3),
      maxRetries: 0,
    });
    expect(result.text).toBe('Oslo: 3C, calm.');
    const bodies = upstreamBodies().slice(before);
    expect(bodies).toHaveLength(3);
    const reasoning = bodies[2]!.input.filter((i: Json) => i.type === 'reasoning');
    expect(reasoning).toHaveLength(2);
    expect(reasoning.every((i: Json) => typeof i.encrypted_content === 'string' && !('id' in i))).toBe(true);
  });
});

describe('the official openai SDK', () => {
  it('continues a conversation with previous_response_id', async () => {
    script({ kind: 'ok', text: 'Noted: blue.' }, { kind: 'ok', text: 'Blue.' });
    const client = new OpenAI({ apiKey: proxyKey, baseURL: `${stack.workerUrl}/v1`, maxRetries: 0 });
    const first = await client.responses.create({ model: 'gpt-5.5', input: 'My favourite colour is blue.' });
    const stream = client.responses.stream({ model: 'gpt-5.5', input: 'What is it?', previous_response_id: first.id });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Blue.');
    const sent = upstreamBodies().at(-1)!;
    expect(sent).not.toHaveProperty('previous_response_id');
    expect(sent.input.map((i: Json) => i.content[0].text)).toEqual(['My favourite colour is blue.', 'Noted: blue.', 'What is it?']);

    await expect(client.responses.create({ model: 'gpt-5.5', input: 'hi', previous_response_id: 'resp_unknown' })).rejects.toMatchObject({
      status: 400,
      code: 'previous_response_not_found',
    });
  });
});
