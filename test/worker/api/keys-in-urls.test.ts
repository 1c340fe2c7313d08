/**
 * Keys sent in URLs: refused with a message that says where a key belongs, and never written to
 * the Worker's logs (query parameters and key-shaped path segments are redacted first).
 */
import { exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateProxyKey } from '../../../worker/accounts/proxy-keys.ts';
import { loggableUrl } from '../../../worker/shared/log-url.ts';
import { seedUser } from '../helpers/seed-user.ts';

afterEach(() => vi.restoreAllMocks());

/** Every line the Worker logs while `run` goes on. */
async function logsDuring(run: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  for (const level of ['log', 'warn', 'error', 'info'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  }
  await run();
  return lines.join('\n');
}

describe('a key in the URL', () => {
  it.each(['api_key', 'key', 'apiKey'])('is refused with 401 and told not to put keys in URLs (?%s=)', async (param) => {
    const { key } = generateProxyKey();
    const res = await exports.default.fetch(`http://example.com/v1/models?${param}=${key}`);
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).not.toContain(key);
    const { error } = JSON.parse(text) as { error: { message: string; code: string } };
    expect(error.code).toBe('invalid_api_key');
    expect(error.message).toMatch(/never in the URL/i);
    expect(error.message).toMatch(/Authorization: Bearer/);
    expect(error.message).toMatch(/revoke/i);
  });

  it('is named in the message for a request without any key too', async () => {
    const res = await exports.default.fetch('http://example.com/v1/models');
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/not in the URL/i);
  });

  it('never reaches the error log line, from the query string or the path', async () => {
    const { apiKey: key } = await seedUser();
    const pasted = generateProxyKey().key;
    const logs = await logsDuring(async () => {
      const res = await exports.default.fetch(`http://example.com/v1/models/${pasted}?api_key=${pasted}&key=${pasted}&limit=2`, {
        headers: { Authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(404);
    });
    expect(logs).toContain('"event":"request_failed"');
    expect(logs).not.toContain(pasted);
    expect(logs).not.toContain(key);
    expect(logs).toContain('/v1/models/[redacted]?api_key=[redacted]&key=[redacted]&limit=2');
  });
});

describe('loggableUrl', () => {
  it.each([
    ['/v1/models?limit=2', '/v1/models?limit=2'],
    ['/v1/models?api_key=abc&x=1', '/v1/models?api_key=[redacted]&x=1'],
    ['/v1/models?access_token=abc&client_secret=def&sig=ghi', '/v1/models?access_token=[redacted]&client_secret=[redacted]&sig=[redacted]'],
    ['/v1/models?q=sk-0123456789abcdef', '/v1/models?q=[redacted]'],
    ['/v1/models?q=cpk%5F0123456789abcdef', '/v1/models?q=[redacted]'],
    ['/v1/cpk%5F0123456789abcdef/models', '/v1/[redacted]/models'],
    ['/v1/models?KEY=abc', '/v1/models?KEY=[redacted]'],
  ])('%s → %s', (path, expected) => {
    expect(loggableUrl(`https://usemysub.com${path}`)).toBe(expected);
  });
});
