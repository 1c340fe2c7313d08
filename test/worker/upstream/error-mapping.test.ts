import { describe, expect, it } from 'vitest';
import {
  mapStreamFailure,
  mapUpstreamResponse,
  parseRetryAfter,
  parseTryAgainIn,
  streamEndedEarlyError,
  upstreamTimeoutError,
  upstreamUnreachableError,
} from '../../../worker/upstream/error-mapping.ts';
import { reauthGrant } from '../../../worker/accounts/auth-broker-policy.ts';

const NOW = Date.UTC(2025, 10, 24, 12, 0, 0);
const IN_ONE_HOUR_S = NOW / 1000 + 3600;

interface HttpCase {
  name: string;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  expect: { status: number; code: string; type: string; retryAfter?: string; message?: RegExp };
}

const httpCases: HttpCase[] = [
  {
    name: 'usage limit with resets_at → 429, Retry-After and the reset time',
    status: 429,
    body: { error: { type: 'usage_limit_reached', message: 'limit', plan_type: 'plus', resets_at: IN_ONE_HOUR_S } },
    expect: {
      status: 429, code: 'usage_limit_reached', type: 'rate_limit_error', retryAfter: '3600',
      message: /plus plan.*resets at 2025-11-24T13:00:00\.000Z/,
    },
  },
  {
    name: 'usage limit with the older resets_in_seconds',
    status: 429,
    body: { error: { type: 'usage_limit_reached', resets_in_seconds: 90 } },
    expect: { status: 429, code: 'usage_limit_reached', type: 'rate_limit_error', retryAfter: '90', message: /12:01:30/ },
  },
  {
    name: 'other 429 → rate_limit_exceeded with the upstream Retry-After',
    status: 429,
    body: { error: { message: 'Too many requests' } },
    headers: { 'retry-after': '7' },
    expect: { status: 429, code: 'rate_limit_exceeded', type: 'rate_limit_error', retryAfter: '7' },
  },
  {
    name: '429 without a body still says rate limited',
    status: 429,
    body: null,
    expect: { status: 429, code: 'rate_limit_exceeded', type: 'rate_limit_error' },
  },
  {
    name: 'usage_not_included → 403',
    status: 403,
    body: { error: { type: 'usage_not_included', message: 'no codex' } },
    expect: { status: 403, code: 'usage_not_included', type: 'permission_error', message: /does not include Codex/ },
  },
  {
    name: 'usage_not_included sent with a 429 is still 403',
    status: 429,
    body: { error: { type: 'usage_not_included' } },
    expect: { status: 403, code: 'usage_not_included', type: 'permission_error' },
  },
  {
    name: 'context_length_exceeded → 400',
    status: 400,
    body: { error: { type: 'invalid_request_error', code: 'context_length_exceeded', message: 'Too long' } },
    expect: { status: 400, code: 'context_length_exceeded', type: 'invalid_request_error' },
  },
  {
    name: '400 {"detail"} → upstream_rejected with the detail',
    status: 400,
    body: { detail: 'Unsupported parameter: foo' },
    expect: { status: 400, code: 'upstream_rejected', type: 'invalid_request_error', message: /Unsupported parameter: foo/ },
  },
  {
    name: '400 with an OpenAI-shaped error → upstream_rejected with its message',
    status: 400,
    body: { error: { type: 'invalid_request_error', message: 'Bad tool schema' } },
    expect: { status: 400, code: 'upstream_rejected', type: 'invalid_request_error', message: /Bad tool schema/ },
  },
  {
    name: '500 → 502 upstream_error',
    status: 500,
    body: { detail: 'boom' },
    expect: { status: 502, code: 'upstream_error', type: 'api_error', message: /HTTP 500/ },
  },
  {
    name: '503 with HTML → 502 upstream_error',
    status: 503,
    body: '<html>down</html>',
    expect: { status: 502, code: 'upstream_error', type: 'api_error' },
  },
  {
    name: '401 after the forced refresh → codex_reauth_required with the absolute /onboarding link',
    status: 401,
    body: { detail: 'Unauthorized' },
    expect: { status: 401, code: 'codex_reauth_required', type: 'authentication_error', message: /at https:\/\/proxy\.example\/onboarding\.$/ },
  },
  {
    name: '403 from an edge block → 502 upstream_error',
    status: 403,
    body: '<html>Just a moment...</html>',
    expect: { status: 502, code: 'upstream_error', type: 'api_error' },
  },
  {
    name: '413 → request_too_large',
    status: 413,
    body: null,
    expect: { status: 413, code: 'request_too_large', type: 'invalid_request_error' },
  },
];

describe('mapping a non-2xx upstream answer', () => {
  for (const c of httpCases) {
    it(c.name, async () => {
      const body = c.body === null ? null : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      const err = await mapUpstreamResponse(new Response(body, { status: c.status, headers: c.headers }), NOW, 'https://proxy.example/');
      expect(err.status).toBe(c.expect.status);
      expect(err.code).toBe(c.expect.code);
      expect(err.type).toBe(c.expect.type);
      expect(err.headers['Retry-After']).toBe(c.expect.retryAfter);
      if (c.expect.message) expect(err.message).toMatch(c.expect.message);
    });
  }

  it('says exactly what the AuthBroker says when the refresh token is refused: one reconnect message', async () => {
    const err = await mapUpstreamResponse(new Response('{}', { status: 401 }), NOW, 'https://proxy.example');
    expect(reauthGrant('https://proxy.example')).toMatchObject({ ok: false, message: err.message });
  });

  it('never repeats upstream headers or tokens in the message', async () => {
    const res = new Response(JSON.stringify({ detail: 'nope' }), {
      status: 400,
      headers: { 'set-cookie': 'secret-cookie', authorization: 'Bearer secret-token' },
    });
    const err = await mapUpstreamResponse(res, NOW);
    expect(JSON.stringify(err.toBody())).not.toMatch(/secret/);
  });

  it('quotes a long upstream detail only in part', async () => {
    const err = await mapUpstreamResponse(new Response(JSON.stringify({ detail: 'x'.repeat(5000) }), { status: 400 }), NOW);
    expect(err.message.length).toBeLessThan(700);
  });
});

interface StreamCase {
  name: string;
  event: Record<string, unknown>;
  expect: { status: number; code: string; retryAfter?: string; message?: RegExp };
}

const streamCases: StreamCase[] = [
  {
    name: 'response.failed context_length_exceeded → 400',
    event: { type: 'response.failed', response: { error: { code: 'context_length_exceeded', message: 'Your input exceeds the context window' } } },
    expect: { status: 400, code: 'context_length_exceeded', message: /context window/ },
  },
  {
    name: 'response.failed rate_limit_exceeded "try again in Ns" → 429 with Retry-After',
    event: { type: 'response.failed', response: { error: { code: 'rate_limit_exceeded', message: 'Rate limit reached. Please try again in 11.054s.' } } },
    expect: { status: 429, code: 'rate_limit_exceeded', retryAfter: '12' },
  },
  {
    name: 'response.failed usage_not_included → 403',
    event: { type: 'response.failed', response: { error: { code: 'usage_not_included', message: 'x' } } },
    expect: { status: 403, code: 'usage_not_included' },
  },
  {
    name: 'response.failed insufficient_quota → 429 usage_limit_reached',
    event: { type: 'response.failed', response: { error: { code: 'insufficient_quota', message: 'Quota exceeded' } } },
    expect: { status: 429, code: 'usage_limit_reached' },
  },
  {
    name: 'response.failed server_error → 502 with the upstream message',
    event: { type: 'response.failed', response: { error: { code: 'server_error', message: 'An error occurred' } } },
    expect: { status: 502, code: 'upstream_error', message: /An error occurred/ },
  },
  {
    name: 'response.failed invalid_prompt → 400 upstream_rejected',
    event: { type: 'response.failed', response: { error: { code: 'invalid_prompt', message: 'Flagged' } } },
    expect: { status: 400, code: 'upstream_rejected', message: /Flagged/ },
  },
  {
    name: 'top-level error event with code and message',
    event: { type: 'error', code: 'rate_limit_exceeded', message: 'Please try again in 500ms', param: null },
    expect: { status: 429, code: 'rate_limit_exceeded', retryAfter: '1' },
  },
  {
    name: 'top-level error event with a nested usage limit',
    event: { type: 'error', error: { type: 'usage_limit_reached', resets_at: IN_ONE_HOUR_S } },
    expect: { status: 429, code: 'usage_limit_reached', retryAfter: '3600' },
  },
  {
    name: 'top-level error event with nothing useful → 502',
    event: { type: 'error' },
    expect: { status: 502, code: 'upstream_error' },
  },
];

describe('mapping a failure inside the stream', () => {
  for (const c of streamCases) {
    it(c.name, () => {
      const err = mapStreamFailure(c.event, NOW);
      expect(err.status).toBe(c.expect.status);
      expect(err.code).toBe(c.expect.code);
      expect(err.headers['Retry-After']).toBe(c.expect.retryAfter);
      if (c.expect.message) expect(err.message).toMatch(c.expect.message);
    });
  }
});

describe('transport failures', () => {
  it('reports a stream that ended early as a 502', () => {
    expect(streamEndedEarlyError('eof').status).toBe(502);
  });
  it('reports an unreachable relay as a 502 without the low-level error in the message', () => {
    const err = upstreamUnreachableError(new TypeError('connect ECONNREFUSED 127.0.0.1:1'));
    expect(err.status).toBe(502);
    expect(err.message).not.toMatch(/ECONNREFUSED/);
    expect(err.detail).toMatch(/ECONNREFUSED/);
  });
  it('reports a timeout as a 504', () => {
    expect(upstreamTimeoutError(90)).toMatchObject({ status: 504, code: 'upstream_timeout' });
  });
});

describe('retry hints', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('30', NOW)).toBe(30);
    expect(parseRetryAfter(new Date(NOW + 10_000).toUTCString(), NOW)).toBe(10);
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter(null, NOW)).toBeNull();
  });
  it('reads "try again in" hints in seconds and milliseconds', () => {
    expect(parseTryAgainIn('Please try again in 2s.')).toBe(2);
    expect(parseTryAgainIn('Please try again in 1.2 seconds')).toBe(2);
    expect(parseTryAgainIn('try again in 20ms')).toBe(1);
    expect(parseTryAgainIn('later')).toBeNull();
  });
});
