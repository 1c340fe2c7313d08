/**
 * The random secrets of the browser flows (magic-link tokens, session ids, OAuth state, PKCE
 * verifiers) and the only forms in which they are stored or compared. Formats: docs/storage.md.
 */
import { pepperedHmac, randomToken } from '../accounts/crypto.ts';
import { bytesToBase64Url, bytesToHex, utf8Encode } from '../shared/encoding.ts';

/** 32 random bytes as 43 base64url characters: magic-link tokens, session ids, OAuth state. */
export function newSecret(): string {
  return randomToken(32);
}

/** The shape newSecret produces; anything else is rejected before a database read. */
export function isSecretShaped(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/**
 * Hex SHA-256: the stored form of a 256-bit secret. A plain hash is enough here (unlike proxy
 * keys, which get a keyed HMAC): nobody can guess 2^256 values offline.
 */
export async function hashSecret(secret: string): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8Encode(secret))));
}

/**
 * The CSRF token for forms of the browser holding `browserSecret` (its session id, or its
 * pre-session cookie). Derived, so nothing extra is stored; a different label from the
 * session's stored hash, so the database alone does not yield it.
 */
export async function csrfTokenFor(browserSecret: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', utf8Encode(`usemysub:csrf:v1:${browserSecret}`));
  return bytesToBase64Url(new Uint8Array(digest));
}

/**
 * A rate-limit bucket name: the rule and an HMAC of the subject (an email or an IP) keyed
 * with API_KEY_PEPPER, so the table never holds a reversible address.
 */
export async function rateLimitBucket(pepper: string, rule: string, subject: string): Promise<string> {
  return `${rule}:${await pepperedHmac(pepper, `usemysub:rate-limit:v1:${rule}:${subject}`)}`;
}

/** A PKCE pair (RFC 7636, S256): a 64-byte verifier, as the Codex CLI makes, and its challenge. */
export async function newPkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = randomToken(64);
  const digest = await crypto.subtle.digest('SHA-256', utf8Encode(verifier));
  return { verifier, challenge: bytesToBase64Url(new Uint8Array(digest)) };
}
