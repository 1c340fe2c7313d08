import { createHash, randomBytes } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CLIENT_ID, startFakeCodex, type FakeCodex } from '../../support/fake-codex/index.ts';
import { RELAY_TOKEN, RecordingUpstream, nextEvent, send, signal, startRelay, type RunningRelay } from './harness.ts';

let upstream: RecordingUpstream;
let relay: RunningRelay;

beforeAll(async () => {
  upstream = await new RecordingUpstream().start();
  relay = await startRelay(upstream.url, { bodyLimitBytes: 32 * 1024 * 1024 });
});
afterAll(async () => {
  await relay.close();
  await upstream.close();
});
afterEach(() => upstream.reset());

/** Starts a request through the relay; the caller writes the body. Resolves the request object at once. */
function openRequest(url: string, method: string, headers: Record<string, string> = {}): ClientRequest {
  const req = request(url, { method, headers: { 'x-relay-token': RELAY_TOKEN, ...headers } });
  req.on('error', () => {}); // aborts are part of these tests
  return req;
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += chunk.toString();
  return text;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('relay streaming', () => {
  it('delivers the first SSE event while the upstream still holds the rest', async () => {
    const release = signal();
    upstream.handle = async (req, res) => {
      for await (const _ of req);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: response.created\ndata: {"type":"response.created"}\n\n');
      await release.promise; // only the test, after reading the first event, lets the stream go on
      res.end('event: response.completed\ndata: {"type":"response.completed"}\n\n');
    };
    const req = openRequest(`${relay.url}/backend-api/codex/responses`, 'POST', { 'content-type': 'application/json' });
    req.end('{}');
    const res = (await nextEvent(req, 'response')) as IncomingMessage;
    expect(res.headers['content-type']).toBe('text/event-stream');
    const first = String(await nextEvent(res, 'data'));
    expect(first).toContain('response.created');
    expect(first).not.toContain('response.completed');
    release.resolve();
    expect(await readAll(res)).toContain('response.completed');
  });

  it('streams the request body upstream before the client has finished sending it', async () => {
    const firstBytes = signal();
    upstream.handle = async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) {
        chunks.push(chunk as Buffer);
        firstBytes.resolve();
      }
      const body = Buffer.concat(chunks);
      res.end(JSON.stringify({ bytes: body.length, sha: sha256(body) }));
    };
    const part1 = randomBytes(256 * 1024);
    const part2 = randomBytes(3 * 1024 * 1024);
    const req = openRequest(`${relay.url}/backend-api/codex/responses`, 'POST', { 'content-type': 'application/octet-stream' });
    req.write(part1); // chunked: no content-length, so nothing can wait for "the whole body"
    await firstBytes.promise;
    req.end(part2);
    const res = (await nextEvent(req, 'response')) as IncomingMessage;
    expect(JSON.parse(await readAll(res))).toEqual({
      bytes: part1.length + part2.length,
      sha: sha256(Buffer.concat([part1, part2])),
    });
  });

  it('forwards a large body with its content-length intact', async () => {
    upstream.handle = async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      res.end(JSON.stringify({ declared: req.headers['content-length'], sha: sha256(body) }));
    };
    const body = randomBytes(12 * 1024 * 1024);
    const response = await send(`${relay.url}/oauth/token`, {
      method: 'POST',
      headers: { 'x-relay-token': RELAY_TOKEN, 'content-type': 'application/octet-stream' },
      body,
    });
    expect(JSON.parse(response.body)).toEqual({ declared: String(body.length), sha: sha256(body) });
  });

  it('answers 413 when a chunked body grows past the limit', async () => {
    const small = await startRelay(upstream.url, { bodyLimitBytes: 1024 });
    try {
      const req = openRequest(`${small.url}/oauth/token`, 'POST', { 'content-type': 'application/octet-stream' });
      req.write(randomBytes(64 * 1024)); // write() before end(): chunked, so only the running count can catch it
      req.end();
      const res = (await nextEvent(req, 'response')) as IncomingMessage;
      expect(res.statusCode).toBe(413);
      expect(JSON.parse(await readAll(res)).error.code).toBe('request_too_large');
    } finally {
      await small.close();
    }
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const upstreamClosed = signal<boolean>();
    upstream.handle = async (req, res) => {
      for await (const _ of req);
      res.on('close', () => upstreamClosed.resolve(res.writableFinished));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: response.created\ndata: {}\n\n'); // and then nothing: only an abort ends this
    };
    const req = openRequest(`${relay.url}/backend-api/codex/responses`, 'POST');
    req.end('{}');
    const res = (await nextEvent(req, 'response')) as IncomingMessage;
    await nextEvent(res, 'data');
    req.destroy();
    expect(await upstreamClosed.promise).toBe(false);
  });

  it('aborts the upstream request when the client disconnects before the upstream answered', async () => {
    const arrived = signal();
    const upstreamClosed = signal();
    upstream.handle = (_req, res) => {
      res.on('close', () => upstreamClosed.resolve());
      arrived.resolve();
    };
    const req = openRequest(`${relay.url}/backend-api/codex/models`, 'GET');
    req.end();
    await arrived.promise;
    req.destroy();
    await upstreamClosed.promise;
  });
});

describe('relay in front of the fake Codex backend', () => {
  let fake: FakeCodex;
  let fakeRelay: RunningRelay;
  beforeAll(async () => {
    fake = await startFakeCodex();
    fakeRelay = await startRelay(fake.url);
  });
  afterAll(async () => {
    await fakeRelay.close();
    await fake.close();
  });

  const codexHeaders = (accessToken: string, accountId: string) => ({
    'x-relay-token': RELAY_TOKEN,
    authorization: `Bearer ${accessToken}`,
    'chatgpt-account-id': accountId,
    'content-type': 'application/json',
    accept: 'text/event-stream',
  });
  const body = JSON.stringify({ model: 'gpt-5.5', instructions: 'x', input: 'relay me', store: false, stream: true });

  it('refreshes tokens through the relay with a form body', async () => {
    const family = fake.state.createFamily();
    const response = await fetch(`${fakeRelay.url}/oauth/token`, {
      method: 'POST',
      headers: { 'x-relay-token': RELAY_TOKEN },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: FAKE_CLIENT_ID, refresh_token: family.tokens.refresh_token }),
    });
    expect(response.status).toBe(200);
    expect(fake.state.family(family.family)).toMatchObject({
      refreshCalls: 1,
      lastContentType: 'application/x-www-form-urlencoded',
    });
  });

  it('relays a complete Codex event stream that parses', async () => {
    const family = fake.state.createFamily();
    const response = await fetch(`${fakeRelay.url}/backend-api/codex/responses`, {
      method: 'POST',
      headers: codexHeaders(family.tokens.access_token, family.accountId),
      body,
    });
    expect(response.headers.get('x-codex-primary-window-minutes')).toBe('300');
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) parser.feed(decoder.decode(chunk, { stream: true }));
    const text = events
      .map((e) => JSON.parse(e.data))
      .filter((d) => d.type === 'response.output_text.delta')
      .map((d) => d.delta)
      .join('');
    expect(text).toBe('Hello from fake Codex: relay me');
    expect(events.at(-1)?.event).toBe('response.completed');
    expect(fake.state.requests(family.accountId)[0]!.headers).not.toHaveProperty('x-relay-token');
  });

  it('passes the model list and its 304 Not Modified revalidation through', async () => {
    const family = fake.state.createFamily();
    const headers = codexHeaders(family.tokens.access_token, family.accountId);
    const first = await fetch(`${fakeRelay.url}/backend-api/codex/models?client_version=0.99.0`, { headers });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { models: unknown[] }).models.length).toBeGreaterThan(0);
    const etag = first.headers.get('etag')!;
    const again = await fetch(`${fakeRelay.url}/backend-api/codex/models?client_version=0.99.0`, { headers: { ...headers, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });

  it('passes a cut upstream stream on as a cut stream, not a clean end', async () => {
    const family = fake.state.createFamily();
    fake.state.scriptResponses(family.accountId, [{ kind: 'truncated' }]);
    const response = await fetch(`${fakeRelay.url}/backend-api/codex/responses`, {
      method: 'POST',
      headers: codexHeaders(family.tokens.access_token, family.accountId),
      body,
    });
    await expect(response.text()).rejects.toThrow();
  });

  it('stops a slow upstream stream when the client goes away', async () => {
    const family = fake.state.createFamily();
    fake.state.scriptResponses(family.accountId, [{ kind: 'slow', delayMs: 100 }]);
    const abort = new AbortController();
    const response = await fetch(`${fakeRelay.url}/backend-api/codex/responses`, {
      method: 'POST',
      headers: codexHeaders(family.tokens.access_token, family.accountId),
      body,
      signal: abort.signal,
    });
    await response.body!.getReader().read();
    abort.abort();
    await expect.poll(() => fake.state.accountStats(family.accountId), { timeout: 10_000 }).toEqual({ requests: 1, aborted: 1 });
  });
});
