/**
 * Byte/text encodings used by crypto, JWT decoding and proxy keys. Web APIs only (atob/btoa),
 * because scripts/provision.ts imports this from Node as well as the Worker.
 */

const BASE64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base64url of `bytes`; unpadded unless `padded` is set. */
export function bytesToBase64Url(bytes: Uint8Array, padded = false): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const base64 = btoa(binary).replaceAll('+', '-').replaceAll('/', '_');
  return padded ? base64 : base64.replace(/=+$/, '');
}

/**
 * Decodes base64url, padded or not; the standard alphabet (`+/`) is accepted too.
 * Throws a message-only Error (never echoing the input) when the text is not base64.
 */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  if (!BASE64_ANY.test(text)) throw new Error('not base64 or base64url text');
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) throw new Error('base64 text has an impossible length');
  if (text.length !== unpadded.length && text.length % 4 !== 0) throw new Error('base64 text has wrong padding');
  const standard = unpadded.replaceAll('-', '+').replaceAll('_', '/');
  const binary = atob(standard + '='.repeat((4 - (standard.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** Decodes an even-length hex string (either case); throws without echoing the input. */
export function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  if (!HEX.test(hex)) throw new Error('not an even-length hex string');
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function utf8Encode(text: string): Uint8Array<ArrayBuffer> {
  // TextEncoder always allocates a fresh, non-shared ArrayBuffer.
  return new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
}

/** Strict UTF-8 decoding: invalid sequences throw instead of becoming U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
}

/**
 * Big-endian base62 of `bytes`, left-padded with '0' to `width` characters (the width that
 * any value of that many bytes needs), so encodings of equal-length inputs have equal length.
 */
export function bytesToBase62(bytes: Uint8Array, width = base62Width(bytes.length)): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return uintToBase62(value, width);
}

/** Base62 of a non-negative integer, left-padded with '0' to `width`. */
export function uintToBase62(value: bigint | number, width: number): string {
  let rest = BigInt(value);
  let text = '';
  while (rest > 0n) {
    text = BASE62_ALPHABET[Number(rest % 62n)] + text;
    rest /= 62n;
  }
  return text.padStart(width, '0');
}

/** Characters needed to write any `byteLength`-byte value in base62. */
export function base62Width(byteLength: number): number {
  return Math.ceil((byteLength * 8) / Math.log2(62));
}

export function isBase62(text: string): boolean {
  return /^[0-9A-Za-z]*$/.test(text);
}
