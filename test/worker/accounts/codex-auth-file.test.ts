import { describe, expect, it } from 'vitest';
import { AuthFileError, parseCodexAuthFile } from '../../../worker/accounts/codex-auth-file.ts';
import { chatgptTokens } from '../helpers/tokens.ts';

const tokens = chatgptTokens({ accountId: 'acct-file', email: 'file@example.com', planType: 'team' });

function authFile(overrides: Record<string, unknown> = {}, tokenOverrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    auth_mode: 'chatgpt',
    OPENAI_API_KEY: null,
    tokens: {
      id_token: tokens.idToken,
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      account_id: 'acct-file',
      ...tokenOverrides,
    },
    last_refresh: '2026-10-01T12:34:56.789Z',
    ...overrides,
  });
}

function errorOf(text: string): AuthFileError {
  try {
    parseCodexAuthFile(text);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthFileError);
    const message = (err as Error).message;
    for (const secret of [tokens.accessToken, tokens.refreshToken, tokens.idToken, 'sk-live-secret']) {
      expect(message).not.toContain(secret);
    }
    return err as AuthFileError;
  }
  throw new Error('expected the auth file to be rejected');
}

describe('reading ~/.codex/auth.json', () => {
  it('turns a ChatGPT login into a token bundle', () => {
    expect(parseCodexAuthFile(authFile())).toEqual({
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      idToken: tokens.idToken,
      accountId: 'acct-file',
      expiresAt: expect.any(Number),
      planType: 'team',
      email: 'file@example.com',
      refreshedAt: Date.parse('2026-10-01T12:34:56.789Z'),
    });
  });

  it('derives the account id from the id token when tokens.account_id is missing', () => {
    expect(parseCodexAuthFile(authFile({}, { account_id: undefined })).accountId).toBe('acct-file');
    expect(parseCodexAuthFile(authFile({ auth_mode: undefined, last_refresh: undefined })).refreshedAt).toBeNull();
  });

  it('explains that an API-key-only login needs a ChatGPT sign-in', () => {
    const error = errorOf(JSON.stringify({ OPENAI_API_KEY: 'sk-live-secret' }));
    expect(error.message).toMatch(/API-key login/);
    expect(error.message).toContain('codex login');
    expect(error.message).toMatch(/ChatGPT/);
  });

  it('says when the file is not JSON or not an object', () => {
    expect(errorOf('{ not json').message).toMatch(/not valid JSON/);
    expect(errorOf('[1, 2]').message).toMatch(/not a JSON object/);
    expect(errorOf('null').message).toMatch(/not a JSON object/);
  });

  it('names the missing access or refresh token without printing the other', () => {
    expect(errorOf(authFile({}, { access_token: undefined })).message).toContain('tokens.access_token');
    expect(errorOf(authFile({}, { refresh_token: '' })).message).toContain('tokens.refresh_token');
    const both = errorOf(authFile({}, { access_token: null, refresh_token: 5 })).message;
    expect(both).toContain('tokens.access_token and tokens.refresh_token');
  });

  it('says when there is no tokens object or no account id anywhere', () => {
    expect(errorOf(JSON.stringify({ auth_mode: 'chatgpt' })).message).toMatch(/no "tokens" object/);
    const noAccount = authFile({}, { account_id: null, id_token: 'opaque', access_token: 'opaque-access' });
    expect(errorOf(noAccount).message).toMatch(/no ChatGPT account id/);
  });

  it('says "missing", naming each field, when the tokens object lacks them (not "wrong type")', () => {
    expect(errorOf(JSON.stringify({ tokens: {} })).message)
      .toBe('The auth file is missing tokens.access_token and tokens.refresh_token. Run `codex login` again to get a complete file.');
    const noRefresh = errorOf(authFile({}, { refresh_token: undefined })).message;
    expect(noRefresh).toMatch(/^The auth file is missing tokens\.refresh_token\./);
    expect(noRefresh).not.toContain('wrong type');
  });

  it('names fields of the wrong type and the type expected', () => {
    expect(errorOf(authFile({ tokens: 'abc' })).message).toContain('wrong type: tokens (expected object)');
    expect(errorOf(authFile({}, { account_id: 5 })).message).toContain('wrong type: tokens.account_id (expected string)');
  });
});
