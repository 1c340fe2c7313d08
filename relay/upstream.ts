/**
 * The relay's one upstream client, and the small stream helpers around it.
 *
 * Why undici's `Agent.request` and not `fetch`: `request` hands back a Node `Readable` whose bytes are
 * exactly the upstream's (fetch would transparently gunzip while the `content-encoding` header still
 * says gzip, and adds WHATWG stream hops), it takes a Node stream as the request body with real
 * backpressure, and its connect/headers/body-idle timeouts are separate knobs, which lets us answer
 * 504 for a slow upstream but keep long SSE streams alive. One `Agent` keeps a keep-alive pool per
 * upstream origin (chatgpt.com and auth.openai.com) for the life of the process.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Agent } from 'undici';
import type { RelayConfig } from './config.ts';

export function createUpstreamAgent(
  config: Pick<RelayConfig, 'connectTimeoutMs' | 'headersTimeoutMs' | 'bodyIdleTimeoutMs'>,
): Agent {
  return new Agent({
    connectTimeout: config.connectTimeoutMs,
    headersTimeout: config.headersTimeoutMs,
    bodyTimeout: config.bodyIdleTimeoutMs,
  });
}

export type UpstreamFailure = 'upstream_timeout' | 'upstream_unreachable' | 'aborted';

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Sorts an error thrown by `agent.request` into the answer the caller should get. */
export function classifyUpstreamError(error: unknown): UpstreamFailure {
  const e = error as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  if (TIMEOUT_CODES.has(code)) return 'upstream_timeout';
  if (code === 'UND_ERR_ABORTED' || e?.name === 'AbortError') return 'aborted';
  return 'upstream_unreachable';
}

/** Raised inside the request-body stream when the caller sends more than the limit. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/**
 * Passes bytes through unchanged while counting them; errors the stream once more than `limit`
 * bytes went by (the limit is checked as data flows, so nothing is buffered to enforce it).
 */
export class ByteCounter extends Transform {
  bytes = 0;
  readonly limit: number;

  constructor(limit = Number.POSITIVE_INFINITY) {
    super();
    this.limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new BodyTooLargeError(`request body exceeds ${this.limit} bytes`));
      return;
    }
    callback(null, chunk);
  }
}
