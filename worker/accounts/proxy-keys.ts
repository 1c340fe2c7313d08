/**
 * The `cpk_` proxy-key format, pure (no storage). Layout, like GitHub's tokens:
 *   cpk_ <43 base62 chars: 32 random bytes> <6 base62 chars: CRC-32 of those 43 chars>
 * The checksum lets the Worker reject typos and junk before touching the database.
 * Web APIs only: scripts/provision.ts imports this module from Node too.
 */
import { hashProxyKey } from './crypto.ts';
import { base62Width, bytesToBase62, isBase62, uintToBase62, utf8Encode } from '../shared/encoding.ts';

export const PROXY_KEY_PREFIX = 'cpk_';
const RANDOM_BYTES = 32;
const BODY_LENGTH = base62Width(RANDOM_BYTES); // 43
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32
export const PROXY_KEY_LENGTH = PROXY_KEY_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;

/** A fresh key and its dashboard hint. The key is shown to the user once and never stored. */
export function generateProxyKey(): { key: string; hint: string } {
  const body = bytesToBase62(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)), BODY_LENGTH);
  const key = PROXY_KEY_PREFIX + body + checksum(body);
  return { key, hint: keyHint(key) };
}

/** Prefix, length, alphabet and checksum: true only for something generateProxyKey could have made. */
export function isWellFormedProxyKey(key: string): boolean {
  if (key.length !== PROXY_KEY_LENGTH || !key.startsWith(PROXY_KEY_PREFIX)) return false;
  const rest = key.slice(PROXY_KEY_PREFIX.length);
  if (!isBase62(rest)) return false;
  const body = rest.slice(0, BODY_LENGTH);
  return checksum(body) === rest.slice(BODY_LENGTH);
}

/** `cpk_` + first 4 + `…` + last 4 characters after the prefix: enough to recognise, not to use. */
export function keyHint(key: string): string {
  const rest = key.startsWith(PROXY_KEY_PREFIX) ? key.slice(PROXY_KEY_PREFIX.length) : key;
  return `${PROXY_KEY_PREFIX}${rest.slice(0, 4)}…${rest.slice(-4)}`;
}

/**
 * The presented key, from `Authorization: Bearer …` (scheme case-insensitive), `x-api-key`, or
 * `api-key` (what Azure OpenAI clients send); null when none carries one. Not validated here.
 */
export function extractProxyKey(headers: Headers): string | null {
  const authorization = headers.get('authorization');
  if (authorization) {
    const match = /^bearer[ \t]+(\S+)\s*$/i.exec(authorization.trim());
    if (match?.[1]) return match[1];
  }
  const apiKey = (headers.get('x-api-key') ?? headers.get('api-key'))?.trim();
  return apiKey ? apiKey : null;
}

/** Everything needed to store a new key; `key` itself goes to the user, never to storage. */
export interface MintedProxyKey {
  id: string;
  key: string;
  hint: string;
  /** Hex HMAC-SHA-256(API_KEY_PEPPER, key), the `api_keys.key_hash` column. */
  hash: string;
}

/** Generates a key with a fresh row id and its stored hash (used by the Worker and provision). */
export async function mintProxyKey(pepper: string | undefined): Promise<MintedProxyKey> {
  const { key, hint } = generateProxyKey();
  return { id: crypto.randomUUID(), key, hint, hash: await hashProxyKey(pepper, key) };
}

function checksum(body: string): string {
  return uintToBase62(crc32(utf8Encode(body)), CHECKSUM_LENGTH);
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, as zlib). An integrity check against typos, not a security measure. */
export function crc32(bytes: Uint8Array): number {
  crcTable ??= buildCrcTable();
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function buildCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
