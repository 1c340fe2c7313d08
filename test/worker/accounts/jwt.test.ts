import { describe, expect, it } from 'vitest';
import { decodeJwtPayload, readTokenClaims } from '../../../worker/accounts/jwt.ts';
import { chatgptTokens, makeJwt } from '../helpers/tokens.ts';

describe('token claims', () => {
  it('reads email, account, plan, user and expiry from ChatGPT id and access tokens', () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const { idToken, accessToken } = chatgptTokens({ accountId: 'acct-42', email: 'me@example.com', planType: 'pro', expSeconds: exp });
    expect(readTokenClaims(idToken, accessToken)).toEqual({
      email: 'me@example.com',
      accountId: 'acct-42',
      planType: 'pro',
      chatgptUserId: 'user-abc',
      expiresAt: exp * 1000,
    });
  });

  it('falls back to the access token and its profile claim when there is no id token', () => {
    const { accessToken } = chatgptTokens({ accountId: 'acct-7', email: 'p@example.com' });
    const claims = readTokenClaims(null, accessToken);
    expect(claims.email).toBe('p@example.com');
    expect(claims.accountId).toBe('acct-7');
  });

  it('takes the expiry from the access token only', () => {
    const idToken = makeJwt({ exp: 1, email: 'a@example.com' });
    const accessToken = makeJwt({ sub: 'x' });
    expect(readTokenClaims(idToken, accessToken).expiresAt).toBeNull();
  });

  it('gives null fields for garbage instead of throwing', () => {
    for (const junk of ['', 'abc', 'a.b.c', 'a.!!!.c', `x.${btoa('[1,2]')}.y`, `x.${btoa('"str"')}.y`, 'rt_opaque']) {
      expect(readTokenClaims(junk, junk)).toEqual({
        email: null,
        accountId: null,
        planType: null,
        chatgptUserId: null,
        expiresAt: null,
      });
    }
    expect(readTokenClaims(undefined, null).accountId).toBeNull();
  });

  it('decodes payloads written with or without base64 padding', () => {
    const payload = { email: 'a@b.c', n: 1 };
    const body = btoa(JSON.stringify(payload));
    expect(decodeJwtPayload(`h.${body}.s`)).toEqual(payload);
    expect(decodeJwtPayload(`h.${body.replace(/=+$/, '')}.s`)).toEqual(payload);
  });
});
