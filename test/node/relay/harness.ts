/**
 * Test harness for the relay: a recording upstream on 127.0.0.1:0, a relay pointed at it, and small
 * raw-HTTP helpers (node:http and net, because fetch refuses to send hop-by-hop headers).
 */
import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { buildRelay } from '../../../relay/app.ts';
import { loadRelayConfig, type RelayConfig } from '../../../relay/config.ts';

export const RELAY_TOKEN = 'relay-token-for-tests-0123456789';

export type SeenRequest = { method: string; url: string; headers: IncomingHttpHeaders };

/** An upstream that records every request; `handle` can be replaced per test (default: 200 JSON echo). */
export class RecordingUpstream {
  readonly seen: SeenRequest[] = [];
  handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void> = defaultHandler;
  readonly server = createServer((req, res) => {
    this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    void Promise.resolve(this.handle(req, res)).catch(() => res.destroy());
  });
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Forgets what was seen and goes back to the default echo handler. */
  reset(): void {
    this.seen.length = 0;
    this.handle = defaultHandler;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function defaultHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let bytes = 0;
  for await (const chunk of req) bytes += (chunk as Buffer).length;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ echoed: true, method: req.method, url: req.url, bytes }));
}

export type RunningRelay = {
  app: FastifyInstance;
  url: string;
  port: number;
  logs: string[];
  config: RelayConfig;
  close(): Promise<void>;
};

/** Starts a relay whose upstream bases both point at `upstreamUrl`. */
export async function startRelay(upstreamUrl: string, overrides: Partial<RelayConfig> = {}): Promise<RunningRelay> {
  const config: RelayConfig = {
    ...loadRelayConfig({
      PORT: '0',
      UPSTREAM_RELAY_TOKEN: RELAY_TOKEN,
      CODEX_BACKEND_URL: `${upstreamUrl}/backend-api`,
      OPENAI_AUTH_URL: upstreamUrl,
    }),
    ...overrides,
  };
  const logs: string[] = [];
  const app = buildRelay(config, { logStream: { write: (line: string) => logs.push(line) } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, url: `http://127.0.0.1:${port}`, port, logs, config, close: () => app.close() };
}

export type SimpleResponse = { status: number; headers: IncomingHttpHeaders; body: string };

/** One request with node:http (any header allowed); resolves with the whole response. */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Writes `text` verbatim on a fresh TCP connection and returns everything read until the server closes it. */
export function sendRaw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => resolve(out));
    // Requests carry `Connection: close`; half-close our side so the server also finishes keep-alive ones.
    socket.on('end', () => socket.end());
  });
}

/** Resolves with the next event of `emitter` (a small `once` that keeps types simple). */
export function nextEvent(emitter: NodeJS.EventEmitter, event: string): Promise<unknown> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** A promise with its resolver, for handing signals between a test and a fake server. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** How a response body finished: read to its end, or cut with the connection mid-body. */
export function endingOf(res: IncomingMessage): Promise<'clean end' | 'cut'> {
  const ending = new Promise<'clean end' | 'cut'>((resolve) => {
    res.on('end', () => resolve('clean end'));
    res.on('error', () => resolve('cut'));
    res.on('aborted', () => resolve('cut'));
  });
  res.resume();
  return ending;
}

/**
 * Registers the hooks for a test file whose tests share one recording upstream and one relay
 * in front of it (the upstream forgets what it saw after each test).
 */
export function relayWithRecordingUpstream(): { readonly upstream: RecordingUpstream; readonly relay: RunningRelay } {
  const running = {} as { upstream: RecordingUpstream; relay: RunningRelay };
  beforeAll(async () => {
    running.upstream = await new RecordingUpstream().start();
    running.relay = await startRelay(running.upstream.url);
  });
  afterAll(async () => {
    await running.relay.close();
    await running.upstream.close();
  });
  afterEach(() => running.upstream.reset());
  return running;
}
