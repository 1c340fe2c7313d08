import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { OAUTH_REDIRECT_URI, errorCode, exchangeAuthorizationCode, refreshTokens } from '../../../worker/upstream/oauth.ts';
import { bytesToBase64Url, utf8Encode } from '../../../worker/shared/encoding.ts';
import { randomToken } from '../../../worker/accounts/crypto.ts';
import { FakeCodexControl } from '../../support/fake-codex/control.ts';

const fake = new FakeCodexControl(env.FAKE_CODEX_URL);

describe('reading token-endpoint error codes', () => {
  it('reads error.code, else error as a string, else code', () => {
    expect(errorCode({ error: { code: 'refresh_token_reused', message: 'x' } })).toBe('refresh_token_reused');
    expect(errorCode({ error: 'invalid_grant', error_description: 'x' })).toBe('invalid_grant');
    expect(errorCode({ code: 'token_expired' })).toBe('token_expired');
    expect(errorCode({ error: { message: 'no code' } })).toBeNull();
    expect(errorCode('Unauthorized')).toBeNull();
    expect(errorCode(null)).toBeNull();
  });
});

describe('the token endpoint client', () => {
  it('refreshes with a standard form body and returns the rotated tokens', async () => {
    const created = await fake.createFamily();
    const result = await refreshTokens(env, created.tokens.refresh_token);
    expect(result.kind).toBe('success');
    const info = await fake.family(created.family);
    expect(info.lastContentType).toBe('application/x-www-form-urlencoded');
    if (result.kind !== 'success') return;
    expect(result.tokens.refreshToken).toBe(info.currentRefreshToken);
    expect(result.tokens.accessToken).toEqual(expect.any(String));
    expect(result.tokens.expiresIn).toBe(3600);
  });

  it('classifies dead refresh tokens as permanent and server trouble as transient', async () => {
    const created = await fake.createFamily();
    await fake.scriptTokenEndpoint(created.family, [{ kind: 'server_error', status: 502 }, { kind: 'invalidated' }]);
    expect(await refreshTokens(env, created.tokens.refresh_token)).toEqual({ kind: 'transient', status: 502, code: null });
    expect(await refreshTokens(env, created.tokens.refresh_token)).toEqual({
      kind: 'permanent',
      status: 401,
      code: 'refresh_token_invalidated',
    });
    expect(await refreshTokens(env, 'rt_never_issued')).toEqual({ kind: 'permanent', status: 400, code: 'invalid_grant' });
  });

  it('exchanges an authorization code with its PKCE verifier for the first tokens', async () => {
    const verifier = randomToken(32);
    const challenge = bytesToBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8Encode(verifier))));
    const issued = await fake.createAuthorizationCode({ codeChallenge: challenge, redirectUri: OAUTH_REDIRECT_URI });
    const result = await exchangeAuthorizationCode(env, { code: issued.code, codeVerifier: verifier });
    expect(result).toMatchObject({ kind: 'success', tokens: { refreshToken: (await fake.family(issued.family)).currentRefreshToken } });
    // A code works once.
    expect(await exchangeAuthorizationCode(env, { code: issued.code, codeVerifier: verifier })).toMatchObject({
      kind: 'permanent',
      code: 'invalid_grant',
    });
  });
});
