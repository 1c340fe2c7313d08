import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DecryptError,
  constantTimeEqual,
  decryptTokenBundle,
  encryptTokenBundle,
  getKeyring,
  hashProxyKey,
  parseEncryptionKey,
  randomToken,
  tokenKeyring,
} from '../../../worker/accounts/crypto.ts';
import { bytesToBase64Url, bytesToHex } from '../../../worker/shared/encoding.ts';
import type { TokenBundle } from '../../../worker/accounts/token-bundle.ts';

const bundle: TokenBundle = {
  accessToken: 'at_secret_access_token',
  refreshToken: 'rt_secret_refresh_token',
  idToken: null,
  accountId: 'acct-1',
  expiresAt: 1_900_000_000_000,
  planType: 'plus',
  email: 'dev@example.com',
  refreshedAt: 1_800_000_000_000,
};

const keyBytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const otherKeyBytes = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

function expectConfigErrorWithoutValue(raw: string) {
  let caught: unknown;
  try {
    parseEncryptionKey(raw);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as Error).message;
  expect(message).toContain('TOKEN_ENCRYPTION_KEY');
  expect(message).toMatch(/hex/);
  expect(message).toMatch(/base64url/);
  if (raw.trim() !== '') expect(message).not.toContain(raw.trim());
}

describe('token encryption', () => {
  it('decrypts what it encrypted for the same user', async () => {
    const keyring = await getKeyring(env.TOKEN_ENCRYPTION_KEY);
    const envelope = await encryptTokenBundle(keyring, 'user-a', bundle);
    expect(envelope).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(envelope).not.toContain('secret');
    expect(await decryptTokenBundle(keyring, 'user-a', envelope)).toEqual(bundle);
  });

  it('encrypts the same bundle differently each time (fresh IV)', async () => {
    const keyring = await getKeyring(env.TOKEN_ENCRYPTION_KEY);
    const first = await encryptTokenBundle(keyring, 'user-a', bundle);
    const second = await encryptTokenBundle(keyring, 'user-a', bundle);
    expect(first).not.toEqual(second);
    expect(first.split('.')[2]).not.toEqual(second.split('.')[2]);
  });

  it('refuses a tampered ciphertext', async () => {
    const keyring = await getKeyring(env.TOKEN_ENCRYPTION_KEY);
    const envelope = await encryptTokenBundle(keyring, 'user-a', bundle);
    const parts = envelope.split('.');
    const body = parts[3]!;
    const flipped = body.slice(0, 10) + (body[10] === 'A' ? 'B' : 'A') + body.slice(11);
    const tampered = [...parts.slice(0, 3), flipped].join('.');
    await expect(decryptTokenBundle(keyring, 'user-a', tampered)).rejects.toMatchObject({
      name: 'DecryptError',
      reason: 'authentication_failed',
    });
  });

  it("refuses a ciphertext copied to another user's row", async () => {
    const keyring = await getKeyring(env.TOKEN_ENCRYPTION_KEY);
    const envelope = await encryptTokenBundle(keyring, 'user-a', bundle);
    const error = await decryptTokenBundle(keyring, 'user-b', envelope).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DecryptError);
    expect((error as DecryptError).reason).toBe('authentication_failed');
    expect((error as Error).message).toMatch(/another user/);
  });

  it('refuses a ciphertext made with a different key, naming it by key id only', async () => {
    const mine = await getKeyring(bytesToHex(keyBytes));
    const theirs = await getKeyring(bytesToHex(otherKeyBytes));
    const envelope = await encryptTokenBundle(theirs, 'user-a', bundle);
    const error = await decryptTokenBundle(mine, 'user-a', envelope).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DecryptError);
    expect((error as DecryptError).reason).toBe('unknown_key');
    expect((error as Error).message).toContain(theirs.currentKid);
    expect((error as Error).message).not.toContain(bytesToHex(otherKeyBytes));
  });

  it('decrypts with an older key kept in the keyring after a rotation', async () => {
    const oldKey = bytesToHex(otherKeyBytes);
    const envelope = await encryptTokenBundle(await getKeyring(oldKey), 'user-a', bundle);
    const rotated = await getKeyring([bytesToHex(keyBytes), oldKey]);
    expect(await decryptTokenBundle(rotated, 'user-a', envelope)).toEqual(bundle);
    expect((await encryptTokenBundle(rotated, 'user-a', bundle)).split('.')[1]).toBe(rotated.currentKid);
  });

  it('refuses malformed envelopes with a clear reason', async () => {
    const keyring = await getKeyring(env.TOKEN_ENCRYPTION_KEY);
    for (const junk of ['', 'v1', 'v2.abcdef01.AAAA.AAAA', `v1.${keyring.currentKid}.!!!.AAAA`, `v1.${keyring.currentKid}.AAAA.AAAA`]) {
      await expect(decryptTokenBundle(keyring, 'user-a', junk)).rejects.toMatchObject({ reason: 'malformed' });
    }
  });

  it('caches the imported key: one keyring per key string', async () => {
    expect(await getKeyring(env.TOKEN_ENCRYPTION_KEY)).toBe(await getKeyring(env.TOKEN_ENCRYPTION_KEY));
  });
});

describe('TOKEN_ENCRYPTION_KEY parsing', () => {
  it('accepts hex, base64url with and without padding, and base64, all as the same key', async () => {
    const hex = bytesToHex(keyBytes);
    const unpadded = bytesToBase64Url(keyBytes);
    const padded = bytesToBase64Url(keyBytes, true);
    const standard = btoa(String.fromCharCode(...keyBytes));
    expect(padded.endsWith('=')).toBe(true);
    for (const form of [hex, hex.toUpperCase(), unpadded, padded, standard, `  ${hex}\n`]) {
      expect(parseEncryptionKey(form)).toEqual(keyBytes);
    }
    const kids = await Promise.all([hex, unpadded, padded].map(async (form) => (await getKeyring(form)).currentKid));
    expect(new Set(kids).size).toBe(1);
    const envelope = await encryptTokenBundle(await getKeyring(hex), 'u', bundle);
    expect(await decryptTokenBundle(await getKeyring(padded), 'u', envelope)).toEqual(bundle);
  });

  it('rejects 31- and 33-byte keys, junk and empty values without echoing them', () => {
    const short = Uint8Array.from({ length: 31 }, (_, i) => i);
    const long = Uint8Array.from({ length: 33 }, (_, i) => i);
    expectConfigErrorWithoutValue(bytesToHex(short));
    expectConfigErrorWithoutValue(bytesToHex(long));
    expectConfigErrorWithoutValue(bytesToBase64Url(short));
    expectConfigErrorWithoutValue(bytesToBase64Url(long, true));
    expectConfigErrorWithoutValue('this is not a key at all!');
    expectConfigErrorWithoutValue('replace-with-32-random-bytes-base64url');
    expectConfigErrorWithoutValue('');
    expectConfigErrorWithoutValue('   ');
  });

  it('fails keyring creation with the same configuration error', async () => {
    await expect(getKeyring('too-short')).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('rotating TOKEN_ENCRYPTION_KEY', () => {
  const oldKey = bytesToHex(otherKeyBytes);
  const newKey = bytesToBase64Url(keyBytes);

  it('keeps rows sealed with the retired key readable, and seals new writes with the new key', async () => {
    const sealedBefore = await encryptTokenBundle(await tokenKeyring({ TOKEN_ENCRYPTION_KEY: oldKey }), 'user-r', bundle);
    const during = await tokenKeyring({ TOKEN_ENCRYPTION_KEY: newKey, TOKEN_ENCRYPTION_KEY_PREVIOUS: oldKey });
    expect(await decryptTokenBundle(during, 'user-r', sealedBefore)).toEqual(bundle);
    const sealedDuring = await encryptTokenBundle(during, 'user-r', bundle);
    expect(sealedDuring.split('.')[1]).toBe((await getKeyring(newKey)).currentKid);
    // Once the previous key is dropped, only rows rewritten since the rotation still open.
    const after = await tokenKeyring({ TOKEN_ENCRYPTION_KEY: newKey, TOKEN_ENCRYPTION_KEY_PREVIOUS: '' });
    expect(await decryptTokenBundle(after, 'user-r', sealedDuring)).toEqual(bundle);
    await expect(decryptTokenBundle(after, 'user-r', sealedBefore)).rejects.toMatchObject({ reason: 'unknown_key' });
  });

  it('names TOKEN_ENCRYPTION_KEY_PREVIOUS when that one is malformed', async () => {
    const failure = tokenKeyring({ TOKEN_ENCRYPTION_KEY: newKey, TOKEN_ENCRYPTION_KEY_PREVIOUS: 'abc123' });
    await expect(failure).rejects.toThrow(/^TOKEN_ENCRYPTION_KEY_PREVIOUS /);
  });
});

describe('proxy-key hashing', () => {
  it('is stable for one pepper and changes with the pepper', async () => {
    const a = await hashProxyKey('pepper-one', 'cpk_example');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashProxyKey('pepper-one', 'cpk_example')).toBe(a);
    expect(await hashProxyKey('pepper-two', 'cpk_example')).not.toBe(a);
    expect(await hashProxyKey('pepper-one', 'cpk_exampl3')).not.toBe(a);
  });

  it('matches the published HMAC-SHA-256 test vector (RFC 4231 case 2)', async () => {
    expect(await hashProxyKey('Jefe', 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('refuses to hash without a pepper, naming API_KEY_PEPPER', async () => {
    await expect(hashProxyKey('', 'cpk_x')).rejects.toThrow(/API_KEY_PEPPER/);
    await expect(hashProxyKey(undefined, 'cpk_x')).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('helpers', () => {
  it('compares strings for equality', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });

  it('makes random base64url tokens of the requested size', () => {
    const token = randomToken(32);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken(32)).not.toBe(token);
    expect(randomToken(16)).toHaveLength(22);
  });
});
