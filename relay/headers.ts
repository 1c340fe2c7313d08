/**
 * Which headers cross the relay. Pure functions over plain header maps (Node/undici lower-case names).
 */

export type HeaderMap = Record<string, string | string[] | undefined>;
export type ForwardHeaders = Record<string, string | string[]>;

/** The relay's own credential: proves the caller is our Worker, never useful to the upstream. */
export const RELAY_TOKEN_HEADER = 'x-relay-token';

/** RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies still meet. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Headers that describe the caller or the path it took (Cloudflare, Fly, generic proxies). The
 * upstream sees the relay as the client, so these would only leak the Worker's or user's address.
 */
const CLIENT_IDENTIFYING = new Set([
  'forwarded',
  'via',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cdn-loop',
]);
const CLIENT_IDENTIFYING_PREFIXES = ['x-forwarded-', 'cf-', 'fly-'];

/**
 * Request headers the relay itself owns: `host` is rebuilt by undici for the upstream origin, and
 * `expect` is answered by Node's server (undici refuses to send it).
 */
const RELAY_OWNED = new Set(['host', 'expect', RELAY_TOKEN_HEADER]);

/**
 * Headers to send upstream. `content-length` is kept only when a body is forwarded: undici checks that the
 * streamed body matches it, and a chunked request simply has none.
 */
export function upstreamRequestHeaders(incoming: HeaderMap, opts: { forwardBody: boolean }): ForwardHeaders {
  const dropped = connectionNamed(incoming);
  const out: ForwardHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (
      lower.startsWith(':') ||
      HOP_BY_HOP.has(lower) ||
      dropped.has(lower) ||
      RELAY_OWNED.has(lower) ||
      CLIENT_IDENTIFYING.has(lower) ||
      CLIENT_IDENTIFYING_PREFIXES.some((prefix) => lower.startsWith(prefix))
    ) {
      continue;
    }
    if (lower === 'content-length' && !opts.forwardBody) continue;
    out[lower] = value;
  }
  return out;
}

/** Headers to send back to the caller: everything but the upstream connection's own hop-by-hop headers. */
export function downstreamResponseHeaders(upstream: HeaderMap): ForwardHeaders {
  const dropped = connectionNamed(upstream);
  const out: ForwardHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

/** Header names listed in `Connection` are hop-by-hop for this one connection (RFC 9110 §7.6.1). */
function connectionNamed(headers: HeaderMap): Set<string> {
  const value = headers['connection'];
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
}
