import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createApiKey } from '../../../worker/accounts/api-keys.ts';
import { requireProxyKey, type AuthVariables } from '../../../worker/api/key-check.ts';
import { findApiKeyByHash } from '../../../worker/db/api-keys.ts';
import { findOrCreateUser } from '../../../worker/db/users.ts';
import { hashProxyKey } from '../../../worker/accounts/crypto.ts';
import { generateProxyKey } from '../../../worker/accounts/proxy-keys.ts';
import { getKeyring, sealTokenBundle } from '../../../worker/accounts/crypto.ts';
import { parseCodexAuthFile } from '../../../worker/accounts/codex-auth-file.ts';
import { readCodexTokens } from '../../../worker/db/codex-tokens.ts';
import { REPLACE_CODEX_TOKENS_SQL, replaceCodexTokensParams } from '../../../worker/db/statements.ts';
import { seedUser } from '../helpers/seed-user.ts';

async function newUserWithKey() {
  const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, Date.now());
  const created = await createApiKey(env, user.id, 'test key');
  return { userId: user.id, ...created };
}

/** A small app behind the middleware that echoes who is calling. */
const probe = new Hono<{ Bindings: Env; Variables: AuthVariables }>();
probe.use('/v1/*', requireProxyKey);
probe.get('/v1/whoami', (c) => c.json(c.get('caller')));

async function expectInvalidApiKey(res: Response, presentedKey?: string) {
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const text = await res.text();
  if (presentedKey) expect(text).not.toContain(presentedKey);
  const body = JSON.parse(text) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual({
    message: expect.any(String),
    type: 'authentication_error',
    param: null,
    code: 'invalid_api_key',
  });
  return body.error.message as string;
}

describe('proxy-key authentication on /v1', () => {
  it('lets a valid key through as a Bearer token and tells the route who is calling', async () => {
    const { key, id, userId } = await newUserWithKey();
    const ctx = createExecutionContext();
    const res = await probe.request('/v1/whoami', { headers: { Authorization: `Bearer ${key}` } }, env, ctx);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId, keyId: id, linkVersion: null });
    await waitOnExecutionContext(ctx);
  });

  it('accepts the key in x-api-key too', async () => {
    const { key, userId } = await newUserWithKey();
    const ctx = createExecutionContext();
    const res = await probe.request('/v1/whoami', { headers: { 'x-api-key': key } }, env, ctx);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { userId: string }).userId).toBe(userId);
    await waitOnExecutionContext(ctx);
  });

  it('records when the key was last used, with the usage written after the answer', async () => {
    const { key, userId } = await newUserWithKey();
    const hash = await hashProxyKey(env.API_KEY_PEPPER, key);
    expect((await findApiKeyByHash(env.DB, hash))?.last_used_at).toBeNull();
    const before = Date.now();
    const ctx = createExecutionContext();
    await probe.request('/v1/whoami', { headers: { Authorization: `Bearer ${key}` } }, env, ctx);
    await waitOnExecutionContext(ctx);
    // The broker writes it with the next usage flush (its alarm, within a minute), not on the request path.
    expect(await runDurableObjectAlarm(env.AUTH_BROKER.getByName(userId))).toBe(true);
    expect((await findApiKeyByHash(env.DB, hash))?.last_used_at).toBeGreaterThanOrEqual(before);
  });

  it('answers a request without a key with 401 invalid_api_key in the OpenAI shape', async () => {
    const message = await expectInvalidApiKey(await exports.default.fetch('http://example.com/v1/models'));
    expect(message).toMatch(/didn't provide an API key/);
  });

  it('rejects a malformed key without echoing it', async () => {
    const junk = 'cpk_this-is-not-a-real-key-but-a-secret-looking-string';
    const res = await exports.default.fetch('http://example.com/v1/models', { headers: { Authorization: `Bearer ${junk}` } });
    expect(await expectInvalidApiKey(res, junk)).toMatch(/Incorrect API key provided/);
    const sk = 'sk-proj-abcdefghijklmnopqrstuvwxyz';
    await expectInvalidApiKey(await exports.default.fetch('http://example.com/v1/models', { headers: { 'x-api-key': sk } }), sk);
  });

  it('rejects a well-formed key that was never issued, without echoing it', async () => {
    const { key } = generateProxyKey();
    const res = await exports.default.fetch('http://example.com/v1/chat/completions', {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await expectInvalidApiKey(res, key);
  });

  it('rejects a revoked key at once', async () => {
    const { key, id, userId } = await newUserWithKey();
    const ctx = createExecutionContext();
    expect((await probe.request('/v1/whoami', { headers: { Authorization: `Bearer ${key}` } }, env, ctx)).status).toBe(200);
    await waitOnExecutionContext(ctx);
    // As the dashboard revokes: through the user's AuthBroker, which answers the key check.
    expect(await env.AUTH_BROKER.getByName(userId).revokeKey(userId, id)).toBe(true);
    const res = await exports.default.fetch('http://example.com/v1/models', { headers: { Authorization: `Bearer ${key}` } });
    await expectInvalidApiKey(res, key);
  });

  it('guards the unprefixed aliases that some clients call', async () => {
    for (const path of ['/chat/completions', '/models', '/responses']) {
      await expectInvalidApiKey(await exports.default.fetch(`http://example.com${path}`, { method: 'POST' }));
    }
  });

  it('lets a valid key past the real /v1 mount', async () => {
    const { key } = await newUserWithKey();
    const res = await exports.default.fetch('http://example.com/v1/no-such-route-for-auth-test', {
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(res.status).not.toBe(401);
  });
});

describe('tokens replaced in D1 behind the AuthBroker’s back (npm run provision)', () => {
  function responsesCall(apiKey: string): Promise<Response> {
    return exports.default.fetch(new Request('https://usemysub.test/v1/responses', {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'hello' }),
    }));
  }

  it('reads the link version in the key lookup itself', async () => {
    const user = await seedUser();
    const ctx = createExecutionContext();
    const res = await probe.request('/v1/whoami', { headers: { Authorization: `Bearer ${user.apiKey}` } }, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await res.json()).toMatchObject({ userId: user.userId, linkVersion: (await readCodexTokens(env.DB, user.userId))?.version });
  });

  it('serves the new tokens once the broker re-reads D1, and at once when the old ones are refused', async () => {
    const user = await seedUser();
    expect((await responsesCall(user.apiKey)).status).toBe(200);
    expect((await user.fake.requests(user.accountId)).length).toBe(1);

    // What provision does: the same statement, through wrangler, with no way to call the Durable Object.
    const other = await user.fake.createFamily();
    const sealed = await sealTokenBundle(await getKeyring(env.TOKEN_ENCRYPTION_KEY), user.userId, parseCodexAuthFile(JSON.stringify(other.authJson)));
    await env.DB.prepare(REPLACE_CODEX_TOKENS_SQL).bind(...replaceCodexTokensParams(user.userId, sealed, Date.now())).run();

    // The warm path reads no D1 (docs/architecture.md, "The hot path"): the cached tokens serve
    // until the broker's re-read behind an answer (30 s), or until the backend refuses them,
    // which makes the broker read D1 before refreshing and retry with what it finds there.
    await user.fake.scriptResponses(user.accountId, [{ kind: 'unauthorized' }]);
    expect((await responsesCall(user.apiKey)).status).toBe(200);
    expect((await user.fake.requests(other.accountId)).length).toBe(1);
    expect((await user.fake.family(user.family.family)).refreshCalls).toBe(0);
  });
});
