import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RELAY_TOKEN, relayWithRecordingUpstream, send, sendRaw, signal, startRelay } from './harness.ts';

const shared = relayWithRecordingUpstream();
const auth = { 'x-relay-token': RELAY_TOKEN };

describe('relay token', () => {
  it('answers 401 in the OpenAI error shape without a token, and never calls upstream', async () => {
    const response = await send(`${shared.relay.url}/backend-api/codex/models`);
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toEqual({
      error: { message: expect.any(String), type: 'authentication_error', param: null, code: 'invalid_relay_token' },
    });
    expect(shared.upstream.seen).toEqual([]);
  });

  it('answers 401 for a wrong token (also a prefix or a longer one), and never calls upstream', async () => {
    for (const token of ['nope', RELAY_TOKEN.slice(0, -1), `${RELAY_TOKEN}x`, '']) {
      const response = await send(`${shared.relay.url}/oauth/token`, { method: 'POST', headers: { 'x-relay-token': token }, body: 'a=b' });
      expect(response.status).toBe(401);
    }
    expect(shared.upstream.seen).toEqual([]);
  });

  it('forwards a request that carries the right token', async () => {
    const response = await send(`${shared.relay.url}/backend-api/wham/usage`, { headers: auth });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ echoed: true, url: '/backend-api/wham/usage' });
  });

  it('serves /healthz without a token', async () => {
    const response = await send(`${shared.relay.url}/healthz`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ok: true });
  });

  it('accepts requests without a token when none is configured (loopback development)', async () => {
    const open = await startRelay(shared.upstream.url, { relayToken: undefined });
    try {
      expect((await send(`${open.url}/backend-api/codex/models`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('telling the relay’s own errors from upstream answers', () => {
  it('marks its own errors with x-relay-error', async () => {
    const refused = await send(`${shared.relay.url}/backend-api/codex/models`);
    expect(refused.headers['x-relay-error']).toBe('invalid_relay_token');
    const unlisted = await send(`${shared.relay.url}/backend-api/nope`, { headers: auth });
    expect(unlisted.headers['x-relay-error']).toBe('route_not_found');
  });

  it('passes an upstream 401 through without the mark, so the Worker treats it as ChatGPT’s answer', async () => {
    shared.upstream.handle = (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"detail":"Unauthorized"}');
    };
    const response = await send(`${shared.relay.url}/backend-api/codex/models`, { headers: auth });
    expect(response.status).toBe(401);
    expect(response.headers['x-relay-error']).toBeUndefined();
    expect(JSON.parse(response.body)).toEqual({ detail: 'Unauthorized' });
  });
});

describe('relay allowlist', () => {
  it.each([
    ['GET', '/backend-api/codex/responses'],
    ['POST', '/backend-api/codex/other'],
    ['GET', '/backend-api/codex/models/'],
    ['GET', '/backend-api/accounts/check'],
    ['DELETE', '/oauth/token'],
    ['OPTIONS', '/oauth/token'],
    ['GET', '/'],
  ])('answers 404 for unlisted %s %s and never calls upstream', async (method, path) => {
    const response = await send(`${shared.relay.url}${path}`, { method, headers: auth });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body).error).toMatchObject({ code: 'route_not_found', param: null });
    expect(shared.upstream.seen).toEqual([]);
  });

  it.each([
    'POST /backend-api/../oauth/token',
    'POST /backend-api/codex/../../oauth/token',
    'POST /backend-api/%2e%2e/oauth/token',
    'POST /backend-api/codex%2Fresponses',
    'POST /backend-api/codex/respons%65s',
    'GET /backend-api/codex/./models',
    'GET //backend-api/codex/models',
    'GET /backend-api//codex/models',
    'GET /backend-api/codex/models%3Fx=1',
  ])('refuses the disguised request line %s without calling upstream', async (line) => {
    const raw = `${line} HTTP/1.1\r\nHost: relay\r\nX-Relay-Token: ${RELAY_TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
    const answer = await sendRaw(shared.relay.port, raw);
    expect(answer).toMatch(/^HTTP\/1\.1 (400|404) /);
    expect(shared.upstream.seen).toEqual([]);
  });

  it('refuses absolute-form request targets (the relay is not a forward proxy)', async () => {
    for (const target of [
      'http://evil.example/backend-api/codex/models',
      `${shared.upstream.url}/backend-api/codex/models`,
      `${shared.upstream.url}/oauth/token`,
    ]) {
      const method = target.endsWith('token') ? 'POST' : 'GET';
      const raw = `${method} ${target} HTTP/1.1\r\nHost: evil.example\r\nX-Relay-Token: ${RELAY_TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
      const answer = await sendRaw(shared.relay.port, raw);
      expect(answer).toMatch(/^HTTP\/1\.1 (400|404) /);
    }
    expect(shared.upstream.seen).toEqual([]);
  });

  it('refuses CONNECT tunnels', async () => {
    const answer = await sendRaw(
      shared.relay.port,
      `CONNECT chatgpt.com:443 HTTP/1.1\r\nHost: chatgpt.com:443\r\nX-Relay-Token: ${RELAY_TOKEN}\r\n\r\n`,
    );
    expect(answer).not.toMatch(/^HTTP\/1\.1 2/);
    expect(shared.upstream.seen).toEqual([]);
  });
});

describe('relay header handling', () => {
  it('forwards the Codex headers and strips the relay token, client-identifying and hop-by-hop headers', async () => {
    const response = await send(`${shared.relay.url}/backend-api/codex/responses`, {
      method: 'POST',
      headers: {
        ...auth,
        authorization: 'Bearer access-token-value',
        'chatgpt-account-id': 'acc_123',
        originator: 'codex_cli_rs',
        session_id: 'f0e1d2c3',
        version: '0.99.0',
        'user-agent': 'codex_cli_rs/0.99.0 (Linux; x86_64) test',
        accept: 'text/event-stream',
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-host': 'usemysub.com',
        forwarded: 'for=203.0.113.7',
        'x-real-ip': '203.0.113.7',
        'cf-connecting-ip': '203.0.113.7',
        'cf-ray': '8f00',
        'cdn-loop': 'cloudflare',
        'true-client-ip': '203.0.113.7',
        via: '1.1 somewhere',
        'fly-client-ip': '203.0.113.7',
        connection: 'keep-alive, x-private-hop',
        'x-private-hop': 'drop me',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
      },
      body: '{"model":"gpt-5.5"}',
    });
    expect(response.status).toBe(200);
    const seen = shared.upstream.seen[0]!.headers;
    expect(seen).toMatchObject({
      authorization: 'Bearer access-token-value',
      'chatgpt-account-id': 'acc_123',
      originator: 'codex_cli_rs',
      session_id: 'f0e1d2c3',
      version: '0.99.0',
      'user-agent': 'codex_cli_rs/0.99.0 (Linux; x86_64) test',
      accept: 'text/event-stream',
      'content-type': 'application/json',
      host: new URL(shared.upstream.url).host,
    });
    for (const name of [
      'x-relay-token',
      'x-forwarded-for',
      'x-forwarded-host',
      'forwarded',
      'x-real-ip',
      'cf-connecting-ip',
      'cf-ray',
      'cdn-loop',
      'true-client-ip',
      'via',
      'fly-client-ip',
      'x-private-hop',
      'keep-alive',
      'proxy-authorization',
    ]) {
      expect(seen, name).not.toHaveProperty(name);
    }
  });

  it('preserves the query string', async () => {
    await send(`${shared.relay.url}/backend-api/codex/models?client_version=0.99.0&x=%2F`, { headers: auth });
    expect(shared.upstream.seen[0]!.url).toBe('/backend-api/codex/models?client_version=0.99.0&x=%2F');
  });

  it('passes the upstream status, body and headers back, minus hop-by-hop ones', async () => {
    shared.upstream.handle = (_req, res) => {
      res.writeHead(429, {
        'content-type': 'application/json',
        'retry-after': '7',
        'x-codex-primary-used-percent': '100',
        connection: 'x-upstream-hop',
        'x-upstream-hop': 'secret',
      });
      res.end('{"error":{"type":"usage_limit_reached"}}');
    };
    const response = await send(`${shared.relay.url}/backend-api/codex/responses`, { method: 'POST', headers: auth, body: '{}' });
    expect(response.status).toBe(429);
    expect(response.body).toBe('{"error":{"type":"usage_limit_reached"}}');
    expect(response.headers).toMatchObject({ 'retry-after': '7', 'x-codex-primary-used-percent': '100' });
    expect(response.headers).not.toHaveProperty('x-upstream-hop');
  });
});

describe('relay upstream failures', { timeout: 20_000 }, () => {
  it('answers 502 upstream_unreachable when the upstream refuses connections', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const dead = await startRelay(`http://127.0.0.1:${port}`);
    try {
      const response = await send(`${dead.url}/backend-api/codex/models`, { headers: auth });
      expect(response.status).toBe(502);
      expect(JSON.parse(response.body).error).toMatchObject({ type: 'api_error', code: 'upstream_unreachable' });
    } finally {
      await dead.close();
    }
  });

  it('answers 504 upstream_timeout when the upstream never sends headers', async () => {
    const slow = await startRelay(shared.upstream.url, { headersTimeoutMs: 200 });
    shared.upstream.handle = () => {}; // never answers
    try {
      const response = await send(`${slow.url}/backend-api/codex/models`, { headers: auth });
      expect(response.status).toBe(504);
      expect(JSON.parse(response.body).error).toMatchObject({ type: 'api_error', code: 'upstream_timeout' });
    } finally {
      await slow.close();
    }
  });
});

describe('relay limits', () => {
  it('answers 413 for a declared body over the limit without calling upstream', async () => {
    const small = await startRelay(shared.upstream.url, { bodyLimitBytes: 1024 });
    try {
      const response = await send(`${small.url}/oauth/token`, { method: 'POST', headers: auth, body: Buffer.alloc(2048, 97) });
      expect(response.status).toBe(413);
      expect(JSON.parse(response.body).error.code).toBe('request_too_large');
      expect(shared.upstream.seen).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('answers 503 with Retry-After when the concurrency limit is reached', async () => {
    const tight = await startRelay(shared.upstream.url, { maxConcurrentRequests: 1 });
    const arrived = signal();
    const release = signal();
    shared.upstream.handle = async (_req, res) => {
      arrived.resolve();
      await release.promise;
      res.end('done');
    };
    try {
      const first = send(`${tight.url}/backend-api/codex/models`, { headers: auth });
      await arrived.promise;
      const second = await send(`${tight.url}/backend-api/codex/models`, { headers: auth });
      expect(second.status).toBe(503);
      expect(second.headers['retry-after']).toBe('1');
      expect(JSON.parse(second.body).error.code).toBe('relay_overloaded');
      expect((await send(`${tight.url}/healthz`)).status).toBe(200);
      release.resolve();
      expect((await first).status).toBe(200);
      expect(shared.upstream.seen).toHaveLength(1);
    } finally {
      await tight.close();
    }
  });
});

describe('relay logs', () => {
  it('writes one JSON line per request with no token, Authorization value, body or query values', async () => {
    const quiet = await startRelay(shared.upstream.url);
    const body = '{"input":"BODY-SECRET-TEXT"}';
    try {
      await send(`${quiet.url}/backend-api/codex/responses?client_version=QUERY-SECRET-VALUE`, {
        method: 'POST',
        headers: { ...auth, authorization: 'Bearer ACCESS-TOKEN-VALUE', 'chatgpt-account-id': 'ACCOUNT-ID-VALUE' },
        body,
      });
      await send(`${quiet.url}/oauth/token?refresh_token=QUERY-SECRET-VALUE`, {
        method: 'POST',
        headers: { 'x-relay-token': 'WRONG-TOKEN-VALUE' },
        body: 'refresh_token=BODY-SECRET-TEXT',
      });
      await send(`${quiet.url}/nowhere/QUERY-SECRET-VALUE`, { headers: auth });
      const requestLines = () =>
        quiet.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === 'request');
      await expect.poll(() => requestLines().length, { timeout: 10_000 }).toBe(3);
      const lines = requestLines();
      expect(lines[0]).toMatchObject({
        msg: 'request',
        method: 'POST',
        route: 'POST /backend-api/codex/responses',
        status: 200,
        upstreamStatus: 200,
        durationMs: expect.any(Number),
        bytesIn: Buffer.byteLength(body),
      });
      expect(lines[1]).toMatchObject({ route: 'POST /oauth/token', status: 401 });
      expect(lines[2]).toMatchObject({ route: 'unmatched', status: 404 });
      const all = quiet.logs.join('\n');
      for (const secret of [RELAY_TOKEN, 'WRONG-TOKEN-VALUE', 'ACCESS-TOKEN-VALUE', 'ACCOUNT-ID-VALUE', 'BODY-SECRET-TEXT', 'QUERY-SECRET-VALUE']) {
        expect(all).not.toContain(secret);
      }
    } finally {
      await quiet.close();
    }
  });
});
