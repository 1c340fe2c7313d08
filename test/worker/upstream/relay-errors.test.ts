/**
 * The relay's own failures (as opposed to ChatGPT's answers it passes through) must reach the
 * client as server-side errors: a misconfigured relay token must never send users to reconnect.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { readCodexTokens } from '../../../worker/db/codex-tokens.ts';
import type { RelayErrorCode } from '../../../relay/errors.ts';
import { seedUser } from '../helpers/seed-user.ts';

async function respondWithRelayError(code: RelayErrorCode) {
  const user = await seedUser();
  await user.fake.scriptResponses(user.accountId, [{ kind: 'relay_error', code }]);
  const res = await exports.default.fetch(new Request('https://usemysub.test/v1/responses', {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-5.5', input: 'hi' }),
  }));
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { user, res, error: body.error };
}

describe('errors the relay itself produces', () => {
  it('a refused X-Relay-Token is a 502, not a reason to reconnect ChatGPT', async () => {
    const { user, res, error } = await respondWithRelayError('invalid_relay_token');
    expect(res.status).toBe(502);
    expect(error.code).toBe('upstream_error');
    expect(error.message).not.toMatch(/onboarding|reconnect/i);
    expect((await user.fake.family(user.family.family)).refreshCalls).toBe(0);
    expect((await readCodexTokens(env.DB, user.userId))?.status).toBe('active');
  });

  it('a relay timeout is a 504 upstream_timeout', async () => {
    const { res, error } = await respondWithRelayError('upstream_timeout');
    expect(res.status).toBe(504);
    expect(error.code).toBe('upstream_timeout');
  });

  it('a body the relay finds too large is a 413', async () => {
    const { res, error } = await respondWithRelayError('request_too_large');
    expect(res.status).toBe(413);
    expect(error.code).toBe('request_too_large');
  });

  it('an overloaded relay is a 502 that keeps its Retry-After', async () => {
    const { res, error } = await respondWithRelayError('relay_overloaded');
    expect(res.status).toBe(502);
    expect(error.code).toBe('upstream_error');
    expect(res.headers.get('retry-after')).toBe('1');
  });
});
