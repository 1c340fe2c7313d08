import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../support/fake-codex/types.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

const BASE = 'https://usemysub.test';
const PATH = '/openai/deployments/gpt-5.5/chat/completions?api-version=2024-10-21';

function post(path: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return exports.default.fetch(
    new Request(BASE + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) }),
  );
}

async function lastRequest(user: SeededUser): Promise<RecordedRequest & { body: Record<string, unknown> }> {
  const last = (await user.fake.requests(user.accountId)).at(-1);
  if (!last) throw new Error('the fake saw no request');
  return last as RecordedRequest & { body: Record<string, unknown> };
}

const ask = (text: string, extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content: text }], ...extra });

describe('the Azure OpenAI path shape (Cursor with an Azure setting)', () => {
  it('answers a chat completion for the deployment named in the path, key in the api-key header', async () => {
    const user = await seedUser();
    const res = await post(PATH, { 'api-key': user.apiKey }, ask('azure hi', { model: 'ignored-by-azure' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; model: string; choices: Array<{ message: { content: string } }> };
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-5.5' });
    expect(body.choices[0]?.message.content).toBe('Hello from fake Codex: azure hi');
    expect((await lastRequest(user)).body.model).toBe('gpt-5.5');
  });

  it('streams, and takes an effort alias as the deployment name', async () => {
    const user = await seedUser();
    const res = await post('/openai/deployments/gpt-5.5-high/chat/completions?api-version=2024-10-21', { 'api-key': user.apiKey }, ask('s', { stream: true }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text).toContain('"model":"gpt-5.5-high"');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    expect((await lastRequest(user)).body).toMatchObject({ model: 'gpt-5.5', reasoning: { effort: 'high' } });
  });

  it('works with the openai SDK’s AzureOpenAI client', async () => {
    const user = await seedUser();
    const { AzureOpenAI } = await import('openai');
    const client = new AzureOpenAI({
      apiKey: user.apiKey,
      endpoint: BASE,
      apiVersion: '2024-10-21',
      deployment: 'gpt-5.5',
      maxRetries: 0,
      fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
    });
    const completion = await client.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'sdk azure' }] });
    expect(completion.choices[0]?.message.content).toBe('Hello from fake Codex: sdk azure');
  });

  it('checks the key like every other route: missing, wrong, and in the query string are 401', async () => {
    const user = await seedUser();
    const missing = await post(PATH, {}, ask('x'));
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'invalid_api_key', message: expect.stringContaining('api-key'),
    });
    expect((await post(PATH, { 'api-key': 'cpk_not-a-real-key' }, ask('x'))).status).toBe(401);
    const inUrl = await post(`${PATH}&api-key=${user.apiKey}`, {}, ask('x'));
    expect(inUrl.status).toBe(401);
    expect(((await inUrl.json()) as { error: { message: string } }).error.message).toMatch(/never in the URL/);
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });

  it('refuses a key in the query string on /v1 too', async () => {
    const user = await seedUser();
    const res = await post(`/v1/chat/completions?api_key=${user.apiKey}`, {}, { model: 'gpt-5.5', ...ask('x') });
    expect(res.status).toBe(401);
  });

  it('answers an unknown deployment with 404 model_not_found, and an unknown Azure path in JSON', async () => {
    const user = await seedUser();
    const unknown = await post('/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21', { 'api-key': user.apiKey }, ask('x'));
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    const other = await post('/openai/deployments/gpt-5.5/embeddings?api-version=2024-10-21', { 'api-key': user.apiKey }, { input: 'x' });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toMatch(/application\/json/);
  });
});
