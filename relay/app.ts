/**
 * The relay as a Fastify instance: token check, allowlist, streaming forward, one log line per request.
 * `server.ts` starts it; tests build it and listen on port 0.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { AuthFailureLimiter } from './auth-failures.ts';
import type { RelayConfig } from './config.ts';
import { RELAY_HEALTH_PATH, RELAY_VIA } from './contract.ts';
import { relayError, type RelayErrorCode } from './errors.ts';
import { downstreamResponseHeaders, RELAY_TOKEN_HEADER, upstreamRequestHeaders } from './headers.ts';
import { RELAY_ROUTES, resolveRoute, type UpstreamBases } from './routes.ts';
import { ByteCounter, classifyUpstreamError, createUpstreamAgent } from './upstream.ts';

export type RelayOptions = {
  /** Where the JSON log lines go (default: stdout). Tests pass a collecting stream. */
  logStream?: { write(line: string): unknown };
  /** Upstream client; by default an undici `Agent` built from the config's timeouts and closed with the app. */
  dispatcher?: Dispatcher;
};

/** What the per-request log line reports; filled in as the request moves along. */
type RequestMetrics = {
  start: number;
  route: string;
  bytesIn?: ByteCounter;
  bytesOut?: ByteCounter;
  upstreamStatus?: number;
  upstreamError?: string;
};


/** Builds the relay (routes, hooks, upstream client) without listening. */
export function buildRelay(config: RelayConfig, opts: RelayOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      ...(opts.logStream ? { stream: opts.logStream } : {}),
      // Fastify's own lines (if any slip through) must not carry URLs: query strings can hold secrets.
      serializers: { req: (req: { method?: string }) => ({ method: req.method }) },
    },
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    // No total deadline on a request (Node's requestTimeout): a large upload on a slow link is fine.
    // Silence is what is bounded: Node's headers timeout here (headers are small), and between body
    // chunks in `forward`. Node checks the headers timeout every `connectionsCheckingInterval`.
    requestTimeout: 0,
    http: {
      headersTimeout: config.requestIdleTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, config.requestIdleTimeoutMs),
    },
    // Answered by our own onRequest hook instead, in the relay's error shape.
    return503OnClosing: false,
    frameworkErrors: (_error, request, reply) => {
      trackRequest(request.raw, reply.raw, request.log, 'unmatched');
      sendError(reply, 'invalid_request');
    },
  });

  const ownsDispatcher = opts.dispatcher === undefined;
  const dispatcher = opts.dispatcher ?? createUpstreamAgent(config);
  const bases: UpstreamBases = { codexBackend: config.codexBackendUrl, openaiAuth: config.openaiAuthUrl };
  const tokenDigest = config.relayToken === undefined ? undefined : sha256(config.relayToken);
  const authFailures = new AuthFailureLimiter({ limit: config.authFailureLimit, windowMs: config.authFailureWindowMs });
  const metrics = new WeakMap<IncomingMessage, RequestMetrics>();
  // Node closes connections past this at once, before reading a byte: sockets stay bounded.
  app.server.maxConnections = config.maxConnections;
  let inFlight = 0;
  let closing = false;

  /** Attaches the single log line, written when the response closes (finished or cut short). */
  function trackRequest(req: IncomingMessage, res: ServerResponse, log: FastifyRequest['log'], route: string) {
    if (metrics.has(req)) return;
    const m: RequestMetrics = { start: performance.now(), route };
    metrics.set(req, m);
    res.once('close', () => {
      log.info(
        {
          method: req.method,
          route: m.route,
          status: res.statusCode,
          durationMs: Math.round(performance.now() - m.start),
          bytesIn: m.bytesIn?.bytes,
          bytesOut: m.bytesOut?.bytes,
          upstreamStatus: m.upstreamStatus,
          upstreamError: m.upstreamError,
          completed: res.writableFinished,
        },
        'request',
      );
      // During shutdown, a keep-alive socket freed by this response would otherwise idle until its timeout.
      if (closing) setImmediate(() => app.server.closeIdleConnections());
    });
  }

  // Hand every body through untouched as the raw stream: the relay never parses or buffers payloads.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.addHook('onRequest', async (request, reply) => {
    const label = request.is404 ? 'unmatched' : `${request.method} ${request.routeOptions.url}`;
    trackRequest(request.raw, reply.raw, request.log, label);
    if (closing) return sendError(reply, 'relay_shutting_down', { close: true });
    // RFC 9112 §3.2: two Host headers make a request ambiguous, a classic smuggling vector.
    if (countHeader(request.raw.rawHeaders, 'host') > 1) return sendError(reply, 'invalid_request', { close: true });
    if (!request.is404 && request.routeOptions.url === RELAY_HEALTH_PATH) return;
    if (tokenDigest === undefined) return; // loopback dev without a token (config.ts enforces this)
    // The token first: the caller's address is shared (on Fly, every Worker request arrives from
    // Cloudflare's egress addresses, which other Cloudflare customers use too), so a lockout that
    // refused the right token would let a stranger shut the Worker out. Only failures are limited.
    const presented = request.headers[RELAY_TOKEN_HEADER];
    if (tokenAccepted(presented)) return;
    // A missing token is no guess (scanners, platform probes); only wrong ones use up the allowance.
    if (presented === undefined) return sendError(reply, 'invalid_relay_token');
    const client = clientKey(request);
    const wait = authFailures.retryAfterSeconds(client);
    if (wait > 0) return sendError(reply, 'too_many_auth_failures', { retryAfterSeconds: wait });
    authFailures.recordFailure(client);
    return sendError(reply, 'invalid_relay_token');
  });

  // Every answer says it came through the relay, so the Worker can tell it from a platform's own error page.
  app.addHook('onSend', async (_request, reply, payload) => {
    const via = reply.getHeader('via');
    reply.header('via', typeof via === 'string' && via !== '' ? `${via}, ${RELAY_VIA}` : RELAY_VIA);
    return payload;
  });

  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onClose', async () => {
    if (ownsDispatcher) await dispatcher.close();
  });

  app.setNotFoundHandler((_request, reply) => sendError(reply, 'route_not_found'));

  app.setErrorHandler((error: { statusCode?: number; code?: string; name?: string }, request, reply) => {
    request.log.warn({ errorCode: error.code, errorName: error.name }, 'request failed inside the relay');
    const status = error.statusCode ?? 500;
    if (status === 413) return sendError(reply, 'request_too_large');
    return sendError(reply, status >= 400 && status < 500 ? 'invalid_request' : 'internal_error');
  });

  app.get(RELAY_HEALTH_PATH, async () => ({ ok: true }));

  for (const route of RELAY_ROUTES) {
    app.route({ method: route.method, url: route.path, handler: forward });
  }

  async function forward(request: FastifyRequest, reply: FastifyReply) {
    // The router matched a decoded path; the resolver decides on the raw target, byte for byte.
    const target = resolveRoute(request.raw.method ?? '', request.raw.url ?? '', bases);
    if (!target.ok) return sendError(reply, 'route_not_found');

    const declaredLength = Number(request.headers['content-length'] ?? 0);
    if (declaredLength > config.bodyLimitBytes) return sendError(reply, 'request_too_large', { close: true });

    if (inFlight >= config.maxConcurrentRequests) return sendError(reply, 'relay_overloaded');
    inFlight++;
    reply.raw.once('close', () => inFlight--);

    // A caller that goes away (closed socket before the response finished) cancels the upstream call.
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });

    const m = metrics.get(request.raw);
    const incoming = request.body as Readable | undefined;
    let bodyIn: ByteCounter | undefined;
    if (incoming !== undefined && target.route.method === 'POST') {
      bodyIn = new ByteCounter(config.bodyLimitBytes);
      // pipe (not pipeline): on an over-limit body we still want the socket, to answer 413.
      incoming.on('error', (error) => bodyIn?.destroy(error));
      incoming.pipe(bodyIn);
      if (m) m.bytesIn = bodyIn;
      // A caller silent mid-body for too long is dropped, which cancels the upstream call (see `abort`).
      // While the upstream applies backpressure (the stream is paused) the silence is ours, not theirs.
      const stalled = setTimeout(() => {
        if (incoming.isPaused()) stalled.refresh();
        else request.raw.destroy();
      }, config.requestIdleTimeoutMs);
      incoming.on('data', () => stalled.refresh());
      incoming.once('end', () => clearTimeout(stalled));
      reply.raw.once('close', () => clearTimeout(stalled));
    }

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await dispatcher.request({
        origin: target.origin,
        path: target.path,
        method: target.route.method,
        headers: upstreamRequestHeaders(request.headers, { forwardBody: bodyIn !== undefined }),
        body: bodyIn ?? null,
        signal: abort.signal,
      });
    } catch (error) {
      if (bodyIn && bodyIn.bytes > bodyIn.limit) return sendError(reply, 'request_too_large', { close: true });
      const failure = classifyUpstreamError(error);
      if (m) m.upstreamError = (error as { code?: string }).code ?? failure;
      if (failure === 'aborted' || abort.signal.aborted) {
        // Nobody is left to answer.
        reply.hijack();
        reply.raw.destroy();
        return reply;
      }
      return sendError(reply, failure);
    }

    if (m) m.upstreamStatus = upstream.statusCode;
    const bodyOut = new ByteCounter();
    if (m) m.bytesOut = bodyOut;
    // If the caller disconnects, Fastify destroys bodyOut and pipeline destroys the undici body, which
    // aborts the upstream request; an upstream error mid-stream cuts the caller's connection in turn.
    pipeline(upstream.body, bodyOut, (error) => {
      if (error && m && !abort.signal.aborted) m.upstreamError = (error as { code?: string }).code ?? 'stream_error';
    });
    reply.code(upstream.statusCode);
    reply.headers(downstreamResponseHeaders(upstream.headers));
    return reply.send(bodyOut);
  }

  function tokenAccepted(presented: string | string[] | undefined): boolean {
    if (tokenDigest === undefined || typeof presented !== 'string') return false;
    // Comparing fixed-length digests keeps the comparison constant-time and hides the token's length.
    return timingSafeEqual(sha256(presented), tokenDigest);
  }

  /** Who is guessing: the address the configured proxy header names, else the socket's peer. */
  function clientKey(request: FastifyRequest): string {
    const named = config.clientIpHeader === undefined ? undefined : request.headers[config.clientIpHeader];
    const value = Array.isArray(named) ? named[0] : named;
    const fromProxy = value?.split(',')[0]?.trim();
    return fromProxy || (request.socket.remoteAddress ?? 'unknown');
  }

  return app;
}

function sendError(
  reply: FastifyReply,
  code: RelayErrorCode,
  opts: { close?: boolean; retryAfterSeconds?: number } = {},
): FastifyReply {
  const { status, headers, body } = relayError(code, opts);
  if (opts.close) reply.header('connection', 'close');
  return reply.code(status).headers(headers).type('application/json; charset=utf-8').send(body);
}

function countHeader(rawHeaders: string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) count++;
  return count;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
