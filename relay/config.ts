import { isIP } from 'node:net';
import { z } from 'zod';
import { RELAY_PORT } from './contract.ts';

/** The relay's validated configuration (built from its environment by `loadRelayConfig`). */
export type RelayConfig = {
  host: string;
  port: number;
  /** Shared secret expected in `X-Relay-Token`; `undefined` only on loopback or with the insecure flag. */
  relayToken: string | undefined;
  /** Base for Codex model traffic, e.g. `https://chatgpt.com/backend-api` (no trailing slash). */
  codexBackendUrl: string;
  /** OAuth issuer base, e.g. `https://auth.openai.com` (no trailing slash). */
  openaiAuthUrl: string;
  allowInsecure: boolean;
  /** Largest request body forwarded upstream, in bytes. */
  bodyLimitBytes: number;
  connectTimeoutMs: number;
  /** Time allowed for the upstream to send its response headers. */
  headersTimeoutMs: number;
  /** Longest silence allowed between two chunks of an upstream body (SSE streams pause while the model thinks). */
  bodyIdleTimeoutMs: number;
  /**
   * Longest silence while a caller sends its request: the time to send its headers, then between
   * two chunks of its body. Idle-based, so a large upload on a slow link is never cut, while a
   * stalled or slow-drip caller cannot hold a socket for long.
   */
  requestIdleTimeoutMs: number;
  /** Requests forwarded at the same time; the next one gets 503 with Retry-After. */
  maxConcurrentRequests: number;
  /** Open connections (idle keep-alive ones included); further connections are closed unanswered. */
  maxConnections: number;
  /** How long a SIGTERM waits for in-flight streams before closing them. */
  shutdownGraceMs: number;
  /** Wrong X-Relay-Token values one client may present per window before it gets 429 for the rest of it. */
  authFailureLimit: number;
  authFailureWindowMs: number;
  /**
   * Lower-case header naming the caller's address, set by the proxy in front of the relay (Fly sets
   * `fly-client-ip`); `undefined` keys clients by their socket address. Only name a header that
   * proxy always overwrites, or callers could pick their own key.
   */
  clientIpHeader: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
};

/** Thrown when the environment cannot produce a safe configuration; the message is meant for the operator. */
export class RelayConfigError extends Error {
  override name = 'RelayConfigError';
}

const MIB = 1024 * 1024;

/** A relay reachable from the internet needs a token nobody can guess (`openssl rand -hex 32` gives 64). */
const MIN_PUBLIC_TOKEN_LENGTH = 32;

/** Absent and empty mean the same thing in an env file (`UPSTREAM_RELAY_TOKEN=`). */
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

const positiveInt = (fallback: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(fallback));

const baseUrl = (fallback: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default(fallback)
      .refine(isPlainHttpBase, 'must be an http(s) URL without credentials, query or fragment')
      .transform((value) => value.replace(/\/+$/, '')),
  );

const booleanFlag = z.preprocess(
  emptyToUndefined,
  z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
);

const envSchema = z.object({
  HOST: z.preprocess(emptyToUndefined, z.string().default('127.0.0.1')),
  PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).default(RELAY_PORT)),
  UPSTREAM_RELAY_TOKEN: optionalString,
  CODEX_BACKEND_URL: baseUrl('https://chatgpt.com/backend-api'),
  OPENAI_AUTH_URL: baseUrl('https://auth.openai.com'),
  RELAY_ALLOW_INSECURE: booleanFlag,
  // Above the Worker's 20 MiB client limit, so users meet the Worker's clearer 413 first.
  RELAY_BODY_LIMIT_BYTES: positiveInt(32 * MIB),
  RELAY_CONNECT_TIMEOUT_MS: positiveInt(10_000),
  RELAY_HEADERS_TIMEOUT_MS: positiveInt(120_000),
  RELAY_BODY_IDLE_TIMEOUT_MS: positiveInt(300_000),
  RELAY_REQUEST_IDLE_TIMEOUT_MS: positiveInt(30_000),
  RELAY_MAX_CONCURRENT_REQUESTS: positiveInt(256),
  // Four per request slot: room for keep-alive connections between requests, a bound on sockets.
  RELAY_MAX_CONNECTIONS: positiveInt(1024),
  RELAY_SHUTDOWN_GRACE_MS: positiveInt(30_000),
  RELAY_AUTH_FAILURE_LIMIT: positiveInt(10),
  RELAY_AUTH_FAILURE_WINDOW_MS: positiveInt(60_000),
  RELAY_CLIENT_IP_HEADER: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
      .transform((name) => name.toLowerCase())
      .optional(),
  ),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
});

/**
 * Reads the relay's settings from `env` (default `process.env`).
 * Refuses to produce a config that would expose an unauthenticated relay on a non-loopback address.
 */
export function loadRelayConfig(env: Record<string, string | undefined> = process.env): RelayConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new RelayConfigError(`Invalid relay configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (!isLoopbackHost(e.HOST) && e.UPSTREAM_RELAY_TOKEN === undefined && !e.RELAY_ALLOW_INSECURE) {
    throw new RelayConfigError(
      `Refusing to listen on non-loopback HOST=${e.HOST} without UPSTREAM_RELAY_TOKEN: ` +
        'anyone who can reach it could use the relay. Set UPSTREAM_RELAY_TOKEN to the same secret as the Worker, ' +
        'or set RELAY_ALLOW_INSECURE=true if something else protects this address.',
    );
  }
  const token = e.UPSTREAM_RELAY_TOKEN;
  if (!isLoopbackHost(e.HOST) && token !== undefined && token.length < MIN_PUBLIC_TOKEN_LENGTH && !e.RELAY_ALLOW_INSECURE) {
    throw new RelayConfigError(
      `Refusing to listen on non-loopback HOST=${e.HOST} with an UPSTREAM_RELAY_TOKEN shorter than ` +
        `${MIN_PUBLIC_TOKEN_LENGTH} characters: it could be guessed. \`openssl rand -hex 32\` makes a good one.`,
    );
  }
  return {
    host: e.HOST,
    port: e.PORT,
    relayToken: e.UPSTREAM_RELAY_TOKEN,
    codexBackendUrl: e.CODEX_BACKEND_URL,
    openaiAuthUrl: e.OPENAI_AUTH_URL,
    allowInsecure: e.RELAY_ALLOW_INSECURE,
    bodyLimitBytes: e.RELAY_BODY_LIMIT_BYTES,
    connectTimeoutMs: e.RELAY_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: e.RELAY_HEADERS_TIMEOUT_MS,
    bodyIdleTimeoutMs: e.RELAY_BODY_IDLE_TIMEOUT_MS,
    requestIdleTimeoutMs: e.RELAY_REQUEST_IDLE_TIMEOUT_MS,
    maxConcurrentRequests: e.RELAY_MAX_CONCURRENT_REQUESTS,
    maxConnections: e.RELAY_MAX_CONNECTIONS,
    shutdownGraceMs: e.RELAY_SHUTDOWN_GRACE_MS,
    authFailureLimit: e.RELAY_AUTH_FAILURE_LIMIT,
    authFailureWindowMs: e.RELAY_AUTH_FAILURE_WINDOW_MS,
    clientIpHeader: e.RELAY_CLIENT_IP_HEADER,
    logLevel: e.LOG_LEVEL,
  };
}

/** True for 127.0.0.0/8, ::1 (also bracketed or IPv4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const mapped = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  if (isIP(mapped) === 4) return mapped.split('.')[0] === '127';
  if (isIP(h) === 6) return /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h === '::1';
  return false;
}

function emptyToUndefined(value: unknown): unknown {
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}

function isPlainHttpBase(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    !value.includes('?') &&
    !value.includes('#')
  );
}
