import { describe, expect, it } from 'vitest';
import {
  PROXY_KEY_LENGTH,
  crc32,
  extractProxyKey,
  generateProxyKey,
  isWellFormedProxyKey,
  keyHint,
  mintProxyKey,
} from '../../../worker/accounts/proxy-keys.ts';
import { hashProxyKey } from '../../../worker/accounts/crypto.ts';
import { utf8Encode } from '../../../worker/shared/encoding.ts';

describe('proxy keys', () => {
  it('generates well-formed, unique cpk_ keys carrying at least 32 random bytes', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { key } = generateProxyKey();
      expect(key).toMatch(/^cpk_[0-9A-Za-z]{49}$/);
      expect(isWellFormedProxyKey(key)).toBe(true);
      keys.add(key);
    }
    expect(keys.size).toBe(200);
    // 43 base62 characters of body hold 43 × log2(62) ≈ 256 bits.
    expect(PROXY_KEY_LENGTH - 'cpk_'.length - 6).toBeGreaterThanOrEqual(Math.ceil(256 / Math.log2(62)));
  });

  it('rejects a key with any single character changed (checksum), before any lookup', () => {
    const { key } = generateProxyKey();
    for (let i = 'cpk_'.length; i < key.length; i++) {
      const replacement = key[i] === 'a' ? 'b' : 'a';
      const typo = key.slice(0, i) + replacement + key.slice(i + 1);
      expect(isWellFormedProxyKey(typo), `position ${i}`).toBe(false);
    }
  });

  it('rejects wrong prefixes, lengths and alphabets', () => {
    const { key } = generateProxyKey();
    expect(isWellFormedProxyKey(key.replace('cpk_', 'sk-_'))).toBe(false);
    expect(isWellFormedProxyKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedProxyKey(`${key}0`)).toBe(false);
    expect(isWellFormedProxyKey(key.slice(0, 10) + '-' + key.slice(11))).toBe(false);
    expect(isWellFormedProxyKey('')).toBe(false);
    expect(isWellFormedProxyKey('sk-proj-abcdef')).toBe(false);
  });

  it('shows only the first and last four characters in the hint', () => {
    const { key, hint } = generateProxyKey();
    expect(hint).toBe(`cpk_${key.slice(4, 8)}…${key.slice(-4)}`);
    expect(keyHint(key)).toBe(hint);
    expect(hint).not.toContain(key.slice(8, -4));
    expect(hint.length).toBeLessThan(16);
  });

  it('mints a key with its stored hash and a row id', async () => {
    const minted = await mintProxyKey('pepper');
    expect(isWellFormedProxyKey(minted.key)).toBe(true);
    expect(minted.hash).toBe(await hashProxyKey('pepper', minted.key));
    expect(minted.hint).toBe(keyHint(minted.key));
    expect(minted.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses the standard CRC-32 (zlib) checksum', () => {
    expect(crc32(utf8Encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(utf8Encode(''))).toBe(0);
  });
});

describe('reading the key from request headers', () => {
  it('accepts Authorization: Bearer with any scheme case, and x-api-key', () => {
    expect(extractProxyKey(new Headers({ Authorization: 'Bearer cpk_abc' }))).toBe('cpk_abc');
    expect(extractProxyKey(new Headers({ Authorization: 'bearer   cpk_abc ' }))).toBe('cpk_abc');
    expect(extractProxyKey(new Headers({ Authorization: 'BEARER cpk_abc' }))).toBe('cpk_abc');
    expect(extractProxyKey(new Headers({ 'x-api-key': 'cpk_xyz' }))).toBe('cpk_xyz');
  });

  it('prefers Authorization and finds nothing in other schemes or empty headers', () => {
    expect(extractProxyKey(new Headers({ Authorization: 'Bearer cpk_a', 'x-api-key': 'cpk_b' }))).toBe('cpk_a');
    expect(extractProxyKey(new Headers({ Authorization: 'Basic Zm9vOmJhcg==' }))).toBeNull();
    expect(extractProxyKey(new Headers({ Authorization: 'Bearer' }))).toBeNull();
    expect(extractProxyKey(new Headers({ 'x-api-key': '  ' }))).toBeNull();
    expect(extractProxyKey(new Headers())).toBeNull();
  });

  it('falls back to x-api-key when Authorization is not a bearer token', () => {
    expect(extractProxyKey(new Headers({ Authorization: 'Basic abc', 'x-api-key': 'cpk_b' }))).toBe('cpk_b');
  });
});
