/**
 * The relay on the open internet: Host tricks, token guessing, stalled upstreams and slow callers.
 */
import { request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { MockAgent, errors as undiciErrors } from 'undici';
import { buildRelay } from '../../../relay/app.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_VIA } from '../../../relay/contract.ts';
import { RELAY_TOKEN, endingOf, nextEvent, relayWithRecordingUpstream, send, sendRaw, signal, startRelay, type RunningRelay } from './harness.ts';

const shared = relayWithRecordingUpstream();
const auth = { 'x-relay-token': RELAY_TOKEN };

describe('the Host header never chooses the upstream', () => {
  it.each(['evil.example', 'chatgpt.com', '169.254.169.254', 'localhost:22', 'relay.fly.dev@evil.example'])(
    'forwards to the configured upstream with its own Host when the caller sends Host: %s',
    async (host) => {
      const raw =
        `GET /backend-api/codex/models HTTP/1.1\r\nHost: ${host}\r\nX-Forwarded-Host: ${host}\r\n` +
        `X-Relay-Token: ${RELAY_TOKEN}\r\nConnection: close\r\n\r\n`;
      const answer = await sendRaw(shared.relay.port, raw);
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(shared.upstream.seen).toHaveLength(1);
      expect(shared.upstream.seen[0]!.headers.host).toBe(new URL(shared.upstream.url).host);
      expect(shared.upstream.seen[0]!.headers).not.toHaveProperty('x-forwarded-host');
    },
  );

  it('refuses a request with two Host headers without calling upstream', async () => {
    const raw =
      `GET /backend-api/codex/models HTTP/1.1\r\nHost: relay\r\nHost: evil.example\r\n` +
      `X-Relay-Token: ${RELAY_TOKEN}\r\nConnection: close\r\n\r\n`;
    expect(await sendRaw(shared.relay.port, raw)).toMatch(/^HTTP\/1\.1 400 /);
    expect(shared.upstream.seen).toEqual([]);
  });

  it('refuses CONNECT even to an allowlisted path', async () => {
    const raw = `CONNECT /backend-api/codex/models HTTP/1.1\r\nHost: relay\r\nX-Relay-Token: ${RELAY_TOKEN}\r\n\r\n`;
    expect(await sendRaw(shared.relay.port, raw)).not.toMatch(/^HTTP\/1\.1 2/);
    expect(shared.upstream.seen).toEqual([]);
  });
});

describe('guessing the relay token', () => {
  let guarded: RunningRelay;
  beforeAll(async () => {
    guarded = await startRelay(shared.upstream.url, { authFailureLimit: 3, clientIpHeader: 'x-test-client' });
  });
  afterAll(() => guarded.close());

  const attempt = (client: string, token?: string) =>
    send(`${guarded.url}/backend-api/codex/models`, {
      headers: { 'x-test-client': client, ...(token === undefined ? {} : { 'x-relay-token': token }) },
    });

  it('gets 429 with Retry-After after a few wrong tokens, while others are served', async () => {
    for (let i = 0; i < 3; i++) expect((await attempt('203.0.113.9', `guess-${i}`)).status).toBe(401);
    const limited = await attempt('203.0.113.9', 'guess-3');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(limited.body).error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_auth_failures' });
    expect((await attempt('198.51.100.4', RELAY_TOKEN)).status).toBe(200);
    expect(shared.upstream.seen).toHaveLength(1);
  });

  it('never refuses the right token, even from an address strangers locked out (a shared Cloudflare egress IP)', async () => {
    const sharedEgress = '104.28.0.1';
    for (let i = 0; i < 6; i++) await attempt(sharedEgress, `stranger-guess-${i}`);
    expect((await attempt(sharedEgress, 'stranger-guess-6')).status).toBe(429);
    // The Worker, behind the same address, is served every time, and its requests do not end the lockout.
    for (let i = 0; i < 3; i++) expect((await attempt(sharedEgress, RELAY_TOKEN)).status).toBe(200);
    expect((await attempt(sharedEgress, 'stranger-guess-7')).status).toBe(429);
    expect(shared.upstream.seen).toHaveLength(3);
  });

  it('does not count requests that carry no token at all (probes, scanners)', async () => {
    for (let i = 0; i < 5; i++) expect((await attempt('192.0.2.77')).status).toBe(401);
    expect((await attempt('192.0.2.77', RELAY_TOKEN)).status).toBe(200);
  });

  it('never logs the guessed tokens', async () => {
    await attempt('192.0.2.200', 'GUESSED-TOKEN-VALUE');
    await expect.poll(() => guarded.logs.length).toBeGreaterThan(0);
    expect(guarded.logs.join('\n')).not.toContain('GUESSED-TOKEN-VALUE');
  });
});

describe('responses say they came through the relay', () => {
  it('adds its Via entry to forwarded answers (after the upstream’s own), its own errors and /healthz', async () => {
    shared.upstream.handle = (_req, res) => {
      res.writeHead(200, { via: '1.1 upstream-cdn', 'content-type': 'application/json' });
      res.end('{}');
    };
    const forwarded = await send(`${shared.relay.url}/backend-api/codex/models`, { headers: auth });
    expect(forwarded.headers.via).toBe(`1.1 upstream-cdn, ${RELAY_VIA}`);
    expect((await send(`${shared.relay.url}/backend-api/codex/models`)).headers.via).toBe(RELAY_VIA);
    expect((await send(`${shared.relay.url}/nowhere`, { headers: auth })).headers.via).toBe(RELAY_VIA);
    expect((await send(`${shared.relay.url}/healthz`)).headers.via).toBe(RELAY_VIA);
  });
});

describe('stalled peers do not hold the relay', { timeout: 20_000 }, () => {
  it('cuts the caller’s stream (never a clean end) and the upstream connection when the upstream goes silent', async () => {
    const quick = await startRelay(shared.upstream.url, { bodyIdleTimeoutMs: 300 });
    const upstreamClosed = signal();
    shared.upstream.handle = (_req, res) => {
      res.on('close', () => upstreamClosed.resolve());
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: response.created\ndata: {}\n\n'); // then silence
    };
    try {
      const req = request(`${quick.url}/backend-api/codex/models`, { headers: auth });
      req.end();
      const res = (await nextEvent(req, 'response')) as IncomingMessage;
      const outcome = endingOf(res);
      expect(await outcome).toBe('cut');
      await upstreamClosed.promise;
    } finally {
      await quick.close();
    }
  });

  it('answers 504 upstream_timeout when the upstream cannot be connected to in time', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('https://chatgpt.example')
      .intercept({ path: '/backend-api/codex/models', method: 'GET' })
      .replyWithError(new undiciErrors.ConnectTimeoutError());
    const app = buildRelay(
      { ...shared.relay.config, codexBackendUrl: 'https://chatgpt.example/backend-api' },
      { dispatcher: agent, logStream: { write: () => {} } },
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const response = await send(`http://127.0.0.1:${port}/backend-api/codex/models`, { headers: auth });
      expect(response.status).toBe(504);
      expect(JSON.parse(response.body).error.code).toBe('upstream_timeout');
    } finally {
      await app.close();
      await agent.close();
    }
  });

  it('gives up on a caller whose request body stalls, and cancels the upstream request', async () => {
    const slow = await startRelay(shared.upstream.url, { requestIdleTimeoutMs: 500 });
    const upstreamClosed = signal();
    shared.upstream.handle = async (req, res) => {
      res.on('close', () => upstreamClosed.resolve());
      for await (const _ of req);
      res.end('{}');
    };
    try {
      const req = request(`${slow.url}/backend-api/codex/responses`, { method: 'POST', headers: auth });
      req.on('error', () => {});
      req.write('{"input":'); // and never the rest
      const outcome = await Promise.race([
        nextEvent(req, 'response').then((res) => `status ${(res as IncomingMessage).statusCode}`),
        nextEvent(req, 'close').then(() => 'closed'),
      ]);
      expect(outcome).toMatch(/^(closed|status 408)$/);
      await upstreamClosed.promise;
      req.destroy();
    } finally {
      await slow.close();
    }
  });
});

describe('slow but live callers are served', { timeout: 20_000 }, () => {
  it('forwards a request body that arrives slowly but steadily for longer than the idle timeout', async () => {
    const patient = await startRelay(shared.upstream.url, { requestIdleTimeoutMs: 400 });
    try {
      const req = request(`${patient.url}/backend-api/codex/responses`, { method: 'POST', headers: auth });
      const answered = nextEvent(req, 'response') as Promise<IncomingMessage>;
      for (let i = 0; i < 8; i++) {
        req.write('x'.repeat(100));
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      req.end();
      const res = await answered;
      let body = '';
      for await (const chunk of res) body += String(chunk);
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(body)).toMatchObject({ echoed: true, bytes: 800 });
    } finally {
      await patient.close();
    }
  });
});

describe('a connection cap', () => {
  it('drops connections beyond RELAY_MAX_CONNECTIONS without answering, and serves again once one closes', async () => {
    const capped = await startRelay(shared.upstream.url, { maxConnections: 2 });
    const idle = [connect(capped.port, '127.0.0.1'), connect(capped.port, '127.0.0.1')];
    try {
      await Promise.all(idle.map((socket) => nextEvent(socket, 'connect')));
      await expect.poll(() => new Promise((resolve) => capped.app.server.getConnections((_e, n) => resolve(n)))).toBe(2);
      const refused = await sendRaw(capped.port, 'GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n');
      expect(refused).toBe('');
      idle[0]!.destroy();
      await expect.poll(() => new Promise((resolve) => capped.app.server.getConnections((_e, n) => resolve(n)))).toBe(1);
      const served = await sendRaw(capped.port, 'GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n');
      expect(served).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of idle) socket.destroy();
      await capped.close();
    }
  });
});

describe('shutting down', () => {
  it('answers 503 relay_shutting_down with Retry-After to a request that arrives while streams drain', async () => {
    const draining = await startRelay(shared.upstream.url);
    const arrived = signal();
    const release = signal();
    shared.upstream.handle = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: response.created\ndata: {}\n\n');
      arrived.resolve();
      await release.promise;
      res.end();
    };
    const holder = request(`${draining.url}/backend-api/codex/models`, { headers: auth });
    holder.end();
    const held = (await nextEvent(holder, 'response')) as IncomingMessage;
    held.resume();
    await arrived.promise;

    // A caller already half-way through its request line when the shutdown starts.
    const socket = connect(draining.port, '127.0.0.1');
    await nextEvent(socket, 'connect');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const socketClosed = nextEvent(socket, 'close');
    socket.write('GET /backend-api/codex/models HTTP/1.1\r\nHost: relay\r\n');

    const closed = draining.app.close();
    await expect.poll(() => fetch(`${draining.url}/healthz`).then(() => 'open', () => 'refused')).toBe('refused');
    socket.write(`X-Relay-Token: ${RELAY_TOKEN}\r\n\r\n`);
    await socketClosed;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/retry-after: 1/i);
    expect(answer).toMatch(/x-relay-error: relay_shutting_down/i);

    release.resolve();
    await nextEvent(held, 'end');
    await closed;
    expect(shared.upstream.seen).toHaveLength(1);
  });
});
