import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../../worker/translate/sse.ts';
import { parseSseStream } from '../helpers/sse.ts';
import { FAKE_SEARCH_RESULT, type RecordedRequest } from '../../support/fake-codex/types.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

const BASE = 'https://usemysub.test';
type Json = Record<string, any>;

function post(user: SeededUser, path: string, body: unknown): Promise<Response> {
  return exports.default.fetch(
    new Request(BASE + path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

async function sent(user: SeededUser): Promise<Json> {
  const last = (await user.fake.requests(user.accountId)).at(-1) as RecordedRequest | undefined;
  if (!last) throw new Error('the fake saw no request');
  return last.body as Json;
}

async function events(res: Response): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of parseSseStream(res.body!)) out.push(e);
  return out;
}

/** The text an annotation's indices cover. */
const covered = (text: string, a: { start_index: number; end_index: number }) => text.slice(a.start_index, a.end_index);
const LINK = `([example.com](${FAKE_SEARCH_RESULT.url}))`;

describe('hosted web search on /v1/responses', () => {
  it('passes tools:[{type:"web_search"}] through and returns the web_search_call and the cited text', async () => {
    const user = await seedUser();
    const res = await post(user, '/v1/responses', {
      model: 'gpt-5.5', input: 'news today', tools: [{ type: 'web_search', search_context_size: 'low' }],
      include: ['web_search_call.action.sources'],
    });
    expect(res.status).toBe(200);
    const response = (await res.json()) as Json;
    expect((await sent(user)).tools).toEqual([{ type: 'web_search', search_context_size: 'low' }]);
    const [search, message] = response.output;
    expect(search).toMatchObject({ type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'news today' } });
    expect(search.action.sources).toEqual([{ type: 'url', url: FAKE_SEARCH_RESULT.url }]);
    const part = message.content[0];
    expect(part.annotations).toEqual([expect.objectContaining({ type: 'url_citation', url: FAKE_SEARCH_RESULT.url, title: 'Example Domain' })]);
    expect(covered(part.text, part.annotations[0])).toBe(LINK);
  });

  it('sends OpenAI’s web_search_preview as the backend’s web_search, tool_choice included', async () => {
    const user = await seedUser();
    const res = await post(user, '/v1/responses', {
      model: 'gpt-5.5', input: 'weather', tools: [{ type: 'web_search_preview' }], tool_choice: { type: 'web_search_preview' },
    });
    expect(res.status).toBe(200);
    const body = await sent(user);
    expect(body.tools).toEqual([{ type: 'web_search' }]);
    expect(body.tool_choice).toEqual({ type: 'web_search' });
    expect(((await res.json()) as Json).output.map((item: Json) => item.type)).toEqual(['web_search_call', 'message']);
  });

  it('streams the search events and the annotation event to the client', async () => {
    const user = await seedUser();
    const res = await post(user, '/v1/responses', { model: 'gpt-5.5', input: 'q', stream: true, tools: [{ type: 'web_search' }] });
    const types = (await events(res)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining([
      'response.web_search_call.in_progress', 'response.web_search_call.searching', 'response.web_search_call.completed',
      'response.output_text.annotation.added',
    ]));
    expect(types.at(-1)).toBe('response.completed');
  });
});

describe('web search on /v1/chat/completions (web_search_options)', () => {
  const ask = (extra: Json) => ({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'who won' }], ...extra });

  it('asks the backend for web_search and returns the citations as message.annotations', async () => {
    const user = await seedUser();
    const res = await post(user, '/v1/chat/completions', ask({
      web_search_options: { search_context_size: 'high', user_location: { type: 'approximate', approximate: { country: 'FR', city: 'Paris' } } },
    }));
    expect(res.status).toBe(200);
    expect((await sent(user)).tools).toEqual([
      { type: 'web_search', search_context_size: 'high', user_location: { type: 'approximate', country: 'FR', city: 'Paris' } },
    ]);
    const message = ((await res.json()) as Json).choices[0].message;
    expect(message.annotations).toEqual([
      { type: 'url_citation', url_citation: { url: FAKE_SEARCH_RESULT.url, title: 'Example Domain', start_index: expect.any(Number), end_index: expect.any(Number) } },
    ]);
    expect(covered(message.content, message.annotations[0].url_citation)).toBe(LINK);
  });

  it('streams the citations in a delta, with indices into the streamed content', async () => {
    const user = await seedUser();
    const res = await post(user, '/v1/chat/completions', ask({ stream: true, web_search_options: {}, reasoning_effort: 'low' }));
    let content = '';
    const annotations: Json[] = [];
    for (const e of await events(res)) {
      const delta: Json = (e.data as Json).choices?.[0]?.delta ?? {};
      if (delta.content) content += delta.content;
      if (delta.annotations) annotations.push(...delta.annotations);
    }
    expect(annotations).toHaveLength(1);
    expect(covered(content, annotations[0]!.url_citation)).toBe(LINK);
  });

  it('keeps function tools beside web search, and refuses a web_search tool in tools with a pointer to web_search_options', async () => {
    const user = await seedUser();
    const fn = { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };
    expect((await post(user, '/v1/chat/completions', ask({ tools: [fn], web_search_options: {} }))).status).toBe(200);
    expect(((await sent(user)).tools as Json[]).map((t) => t.type)).toEqual(['function', 'web_search']);
    const refused = await post(user, '/v1/chat/completions', ask({ tools: [{ type: 'web_search' }] }));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Json).error).toMatchObject({ param: 'tools[0].type', message: expect.stringContaining('web_search_options') });
    const bad = await post(user, '/v1/chat/completions', ask({ web_search_options: { search_context_size: 'huge' } }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.param).toBe('web_search_options.search_context_size');
  });

  it('gives the openai SDK typed annotations', async () => {
    const user = await seedUser();
    const { default: OpenAI } = await import('openai');
    const client = new OpenAI({
      apiKey: user.apiKey, baseURL: `${BASE}/v1`, maxRetries: 0,
      fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
    });
    const completion = await client.chat.completions.create({
      model: 'gpt-5.5', messages: [{ role: 'user', content: 'sdk search' }], web_search_options: {},
    });
    expect(completion.choices[0]?.message.annotations?.[0]?.url_citation.url).toBe(FAKE_SEARCH_RESULT.url);
  }, 20_000);
});
