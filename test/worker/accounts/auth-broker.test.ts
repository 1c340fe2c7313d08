import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PENDING_REFRESH_KEY, type AccessGrant, type PendingRefresh } from '../../../worker/accounts/auth-broker.ts';
import { REFRESH_RETRY_DELAYS_MS } from '../../../worker/accounts/auth-broker-policy.ts';
import { parseCodexAuthFile } from '../../../worker/accounts/codex-auth-file.ts';
import { decryptTokenBundle, getKeyring, sealTokenBundle } from '../../../worker/accounts/crypto.ts';
import { readCodexTokens, replaceCodexTokens } from '../../../worker/db/codex-tokens.ts';
import { findOrCreateUser } from '../../../worker/db/users.ts';
import type { RateLimitSnapshot } from '../../../worker/upstream/rate-limits.ts';
import type { TokenBundle } from '../../../worker/accounts/token-bundle.ts';
import { FakeCodexControl } from '../../support/fake-codex/control.ts';
import type { CreatedFamily, FamilyOptions, TokenStep } from '../../support/fake-codex/types.ts';

const fake = new FakeCodexControl(env.FAKE_CODEX_URL);
const onboarding = `${env.PUBLIC_APP_ORIGIN.replace(/\/+$/, '')}/onboarding`;

/** A user whose D1 row holds a fresh sign-in from a fake token family. */
async function linkedUser(options: FamilyOptions & { ttlAfterRefresh?: number; script?: TokenStep[] } = {}) {
  const { ttlAfterRefresh, script, ...familyOptions } = options;
  const created = await fake.createFamily(familyOptions);
  // Tokens issued by later refreshes live an hour unless the test says otherwise.
  await fake.setFamily(created.family, { accessTokenTtlSeconds: ttlAfterRefresh ?? 3600 });
  if (script) await fake.scriptTokenEndpoint(created.family, script);
  const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, Date.now());
  await storeFamily(user.id, created);
  return { userId: user.id, created, broker: env.AUTH_BROKER.getByName(user.id) };
}

async function storeFamily(userId: string, created: CreatedFamily): Promise<void> {
  const bundle = parseCodexAuthFile(JSON.stringify(created.authJson));
  const keyring = await getKeyring(env.TOKEN_ENCRYPTION_KEY);
  await replaceCodexTokens(env.DB, userId, await sealTokenBundle(keyring, userId, bundle), Date.now());
}

async function storedBundle(userId: string): Promise<TokenBundle> {
  const row = await readCodexTokens(env.DB, userId);
  if (!row) throw new Error('no codex_tokens row');
  return decryptTokenBundle(await getKeyring(env.TOKEN_ENCRYPTION_KEY), userId, row.ciphertext);
}

function expectOk(grant: AccessGrant): asserts grant is Extract<AccessGrant, { ok: true }> {
  expect(grant).toMatchObject({ ok: true });
}

/** Makes D1 refuse to store new tokens for this user, as an outage of the write path would. */
async function breakD1WritesFor(userId: string): Promise<() => Promise<void>> {
  const trigger = `fail_token_write_${userId.replaceAll('-', '_')}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE UPDATE OF ciphertext ON codex_tokens WHEN OLD.user_id = '${userId}'
     BEGIN SELECT RAISE(ABORT, 'simulated D1 outage'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
  };
}

function pendingRecord(broker: DurableObjectStub<import('../../../worker/accounts/auth-broker.ts').AuthBroker>) {
  return runInDurableObject(broker, (_instance, state) => state.storage.kv.get<PendingRefresh>(PENDING_REFRESH_KEY) ?? null);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('AuthBroker: handing out access tokens', () => {
  it('serves a token that is good for an hour without calling the token endpoint', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: 3600 });
    const grant = await broker.getAccessToken(userId);
    expect(grant).toEqual({ ok: true, accessToken: created.tokens.access_token, accountId: created.accountId });
    expect((await fake.family(created.family)).refreshCalls).toBe(0);
  });

  it('refreshes a token that expires within minutes, before it is used', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: 120 });
    const grant = await broker.getAccessToken(userId);
    expectOk(grant);
    expect(grant.accessToken).not.toBe(created.tokens.access_token);
    expect((await fake.family(created.family)).refreshCalls).toBe(1);
    // The new token is good for an hour: later calls do not refresh again.
    expect(await broker.getAccessToken(userId)).toEqual(grant);
    expect((await fake.family(created.family)).refreshCalls).toBe(1);
  });

  it('answers 50 simultaneous requests on an expired token with one refresh and one new token', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: -60 });
    const grants = await Promise.all(Array.from({ length: 50 }, () => broker.getAccessToken(userId)));
    const info = await fake.family(created.family);
    expect(info.refreshCalls).toBe(1);
    expect(info.lastContentType).toBe('application/x-www-form-urlencoded');
    const tokens = new Set(grants.map((grant) => (grant.ok ? grant.accessToken : `failed: ${grant.code}`)));
    expect(tokens.size).toBe(1);
    const [token] = tokens;
    expect(token).not.toBe(created.tokens.access_token);
    expect(grants.every((grant) => grant.ok && grant.accountId === created.accountId)).toBe(true);

    // The rotated refresh token is in D1, encrypted, and it is the one the endpoint now accepts.
    const row = await readCodexTokens(env.DB, userId);
    expect(row?.version).toBe(2);
    expect(row?.ciphertext).not.toContain(info.currentRefreshToken);
    const stored = await storedBundle(userId);
    expect(stored.refreshToken).toBe(info.currentRefreshToken);
    expect(stored.accessToken).toBe(token);
    expect(row?.access_expires_at).toBe(stored.expiresAt);
    expect(stored.expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(await pendingRecord(broker)).toBeNull();
  });

  it('says no ChatGPT account is connected, pointing to onboarding, when the user has none', async () => {
    const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, Date.now());
    const grant = await env.AUTH_BROKER.getByName(user.id).getAccessToken(user.id);
    expect(grant).toEqual({ ok: false, code: 'codex_reauth_required', message: expect.stringContaining(onboarding) });
    expect(grant.ok ? '' : grant.message).toMatch(/No ChatGPT account is connected/);
  });

  it('never writes a token into its log lines', async () => {
    const lines: string[] = [];
    for (const level of ['log', 'info', 'warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    }
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: -60, script: [{ kind: 'server_error' }, { kind: 'ok' }] });
    const grant = await broker.getAccessToken(userId);
    expectOk(grant);
    const info = await fake.family(created.family);
    expect(lines.some((line) => line.includes('codex_token_refresh'))).toBe(true);
    for (const secret of [created.tokens.access_token, created.tokens.refresh_token, grant.accessToken, info.currentRefreshToken]) {
      expect(lines.join('\n')).not.toContain(secret);
    }
  });
});

describe('AuthBroker: after the upstream answers 401', () => {
  it('refreshes once even when many requests report the same rejected token', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: 3600 });
    const rejected = created.tokens.access_token;
    const grants = await Promise.all(Array.from({ length: 10 }, () => broker.refreshAfterUnauthorized(userId, rejected)));
    expect((await fake.family(created.family)).refreshCalls).toBe(1);
    const tokens = new Set(grants.map((grant) => (grant.ok ? grant.accessToken : grant.code)));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(rejected);
  });

  it('does not refresh again when the rejected token was already replaced', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: 3600 });
    const first = await broker.refreshAfterUnauthorized(userId, created.tokens.access_token);
    expectOk(first);
    const late = await broker.refreshAfterUnauthorized(userId, created.tokens.access_token);
    expect(late).toEqual(first);
    expect((await fake.family(created.family)).refreshCalls).toBe(1);
  });
});

describe('AuthBroker: a refresh token that no longer works', () => {
  it.each([
    ['reused', 'refresh_token_reused'],
    ['invalid_grant', 'invalid_grant'],
    ['expired', 'refresh_token_expired'],
    ['unauthorized', 'unauthorized'],
  ] as const)('asks the user to reconnect after %s, and stops calling the token endpoint', async (kind, reason) => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: -60, script: [{ kind }] });
    const grant = await broker.getAccessToken(userId);
    expect(grant).toEqual({ ok: false, code: 'codex_reauth_required', message: expect.stringContaining(onboarding) });
    const row = await readCodexTokens(env.DB, userId);
    expect(row?.status).toBe('reauth_required');
    expect(row?.status_reason).toBe(reason);

    expect(await broker.getAccessToken(userId)).toEqual(grant);
    expect(await broker.refreshAfterUnauthorized(userId, created.tokens.access_token)).toEqual(grant);
    // Even a restarted object reads the flag from D1 instead of trying again.
    await evictDurableObject(broker);
    expect(await broker.getAccessToken(userId)).toEqual(grant);
    expect((await fake.family(created.family)).refreshCalls).toBe(1);
  });

  it('treats a refresh token replayed after rotation as reused (the real endpoint rotates)', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: 3600 });
    // Someone else (another proxy, the CLI) used this refresh token first.
    const outside = await fetch(`${env.FAKE_CODEX_URL}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'app_EMoamEEZ73f0CkXaXp7hrann',
        refresh_token: created.tokens.refresh_token,
      }),
    });
    expect(outside.status).toBe(200);
    await outside.text();
    const grant = await broker.refreshAfterUnauthorized(userId, created.tokens.access_token);
    expect(grant).toMatchObject({ ok: false, code: 'codex_reauth_required' });
    expect((await readCodexTokens(env.DB, userId))?.status_reason).toBe('refresh_token_reused');
  });
});

describe('AuthBroker: a token endpoint in trouble', () => {
  it('retries a failing token endpoint a bounded number of times, then reports it unavailable', async () => {
    const attempts = REFRESH_RETRY_DELAYS_MS.length + 1;
    expect(attempts).toBe(3);
    const { userId, created, broker } = await linkedUser({
      accessTokenTtlSeconds: -60,
      script: [{ kind: 'server_error', status: 503 }, { kind: 'server_error', status: 500 }, { kind: 'server_error', status: 502 }],
    });
    const started = Date.now();
    const grant = await broker.getAccessToken(userId);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(grant).toEqual({ ok: false, code: 'token_refresh_unavailable', message: expect.any(String) });
    expect((await fake.family(created.family)).refreshCalls).toBe(attempts);
    // The link is not broken: D1 still says active and the old tokens are kept.
    const row = await readCodexTokens(env.DB, userId);
    expect(row?.status).toBe('active');
    expect((await storedBundle(userId)).refreshToken).toBe(created.tokens.refresh_token);
  });

  it('recovers when the token endpoint fails once and then answers', async () => {
    const { userId, created, broker } = await linkedUser({
      accessTokenTtlSeconds: -60,
      script: [{ kind: 'server_error', status: 502 }, { kind: 'ok' }],
    });
    const grant = await broker.getAccessToken(userId);
    expectOk(grant);
    const info = await fake.family(created.family);
    expect(info.refreshCalls).toBe(2);
    expect((await storedBundle(userId)).refreshToken).toBe(info.currentRefreshToken);
  });

  it('falls back to a JSON body when the endpoint refuses the form encoding', async () => {
    const { userId, created, broker } = await linkedUser({
      accessTokenTtlSeconds: -60,
      script: [{ kind: 'unsupported_media_type' }, { kind: 'ok' }],
    });
    expectOk(await broker.getAccessToken(userId));
    const info = await fake.family(created.family);
    expect(info.refreshCalls).toBe(2);
    expect(info.lastContentType).toBe('application/json');
  });
});

describe('AuthBroker: a rotated refresh token is never lost', () => {
  it('keeps the new tokens in its own storage when D1 refuses the write, and writes them later', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: -60 });
    const repairD1 = await breakD1WritesFor(userId);

    const grant = await broker.getAccessToken(userId);
    expectOk(grant);
    expect(grant.accessToken).not.toBe(created.tokens.access_token);
    const rotated = (await fake.family(created.family)).currentRefreshToken;
    // D1 still has the old (now dead) refresh token; the new one waits, encrypted, in the object.
    expect((await storedBundle(userId)).refreshToken).toBe(created.tokens.refresh_token);
    const pending = await pendingRecord(broker);
    expect(pending).toMatchObject({ userId, baseVersion: 1 });
    expect(JSON.stringify(pending)).not.toContain(rotated);

    // A restarted object (in-memory state gone) serves the pending tokens rather than spending the dead one.
    await evictDurableObject(broker);
    expect(await broker.getAccessToken(userId)).toEqual(grant);
    expect((await fake.family(created.family)).refreshCalls).toBe(1);

    // Once D1 works again, the next call writes the pending tokens and clears the record.
    await repairD1();
    expect(await broker.getAccessToken(userId)).toEqual(grant);
    expect((await storedBundle(userId)).refreshToken).toBe(rotated);
    expect(await pendingRecord(broker)).toBeNull();
    expect((await readCodexTokens(env.DB, userId))?.version).toBe(2);
  });

  it('retries the D1 write from its alarm', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: -60 });
    const repairD1 = await breakD1WritesFor(userId);
    expectOk(await broker.getAccessToken(userId));
    expect(await pendingRecord(broker)).not.toBeNull();
    await repairD1();
    expect(await runDurableObjectAlarm(broker)).toBe(true);
    expect(await pendingRecord(broker)).toBeNull();
    expect((await storedBundle(userId)).refreshToken).toBe((await fake.family(created.family)).currentRefreshToken);
  });

  it('drops a pending record once D1 holds newer tokens from a reconnect', async () => {
    const { userId, created, broker } = await linkedUser({ accessTokenTtlSeconds: -60 });
    const repairD1 = await breakD1WritesFor(userId);
    expectOk(await broker.getAccessToken(userId));
    await repairD1();
    const reconnected = await fake.createFamily({ accountId: created.accountId });
    await storeFamily(userId, reconnected);
    await broker.reset(userId);
    expect(await broker.getAccessToken(userId)).toEqual({
      ok: true,
      accessToken: reconnected.tokens.access_token,
      accountId: created.accountId,
    });
    expect(await pendingRecord(broker)).toBeNull();
  });
});

describe('AuthBroker: reset', () => {
  it('picks up tokens replaced in D1 by a reconnect', async () => {
    const { userId, broker } = await linkedUser({ accessTokenTtlSeconds: 3600 });
    expectOk(await broker.getAccessToken(userId));
    const other = await fake.createFamily({ accessTokenTtlSeconds: 3600 });
    await storeFamily(userId, other);
    await broker.reset(userId);
    expect(await broker.getAccessToken(userId)).toEqual({
      ok: true,
      accessToken: other.tokens.access_token,
      accountId: other.accountId,
    });
  });

  it('re-reads D1 at once, without reset, when the caller has seen a newer link version (provision)', async () => {
    const { userId, broker, created } = await linkedUser({ accessTokenTtlSeconds: 3600 });
    expectOk(await broker.getAccessToken(userId));
    const other = await fake.createFamily({ accessTokenTtlSeconds: 3600 });
    await storeFamily(userId, other);
    // Without a newer version the cached tokens are served (no D1 read on every call)…
    expect(await broker.getAccessToken(userId, 1)).toMatchObject({ ok: true, accountId: created.accountId });
    // …and the version the key check read makes the broker notice the replacement.
    const version = (await readCodexTokens(env.DB, userId))?.version ?? 0;
    expect(await broker.getAccessToken(userId, version)).toEqual({ ok: true, accessToken: other.tokens.access_token, accountId: other.accountId });
  });

  it('works again after a reconnect that follows a revoked sign-in', async () => {
    const { userId, broker } = await linkedUser({ accessTokenTtlSeconds: -60, script: [{ kind: 'invalidated' }] });
    expect(await broker.getAccessToken(userId)).toMatchObject({ ok: false, code: 'codex_reauth_required' });
    const other = await fake.createFamily({ accessTokenTtlSeconds: 3600 });
    await storeFamily(userId, other);
    await broker.reset(userId);
    expect(await broker.getAccessToken(userId)).toMatchObject({ ok: true, accessToken: other.tokens.access_token });
    expect((await readCodexTokens(env.DB, userId))?.status).toBe('active');
  });
});

describe('AuthBroker: rate limits', () => {
  const snapshot = (capturedAt: number, usedPercent: number): RateLimitSnapshot => ({
    capturedAt,
    primary: { usedPercent, windowMinutes: 300, resetsAt: capturedAt + 3_600_000 },
    secondary: null,
    credits: null,
    planType: 'plus',
  });

  it('remembers the latest snapshot per user and ignores older ones arriving late', async () => {
    const userId = crypto.randomUUID();
    const broker = env.AUTH_BROKER.getByName(userId);
    expect(await broker.getRateLimits(userId)).toBeNull();
    await broker.recordRateLimits(userId, snapshot(2_000, 40));
    await broker.recordRateLimits(userId, snapshot(1_000, 10));
    expect(await broker.getRateLimits(userId)).toEqual(snapshot(2_000, 40));
    await evictDurableObject(broker);
    expect(await broker.getRateLimits(userId)).toEqual(snapshot(2_000, 40));
    expect(await env.AUTH_BROKER.getByName(crypto.randomUUID()).getRateLimits('other')).toBeNull();
  });
});
