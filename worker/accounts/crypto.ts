/**
 * Web Crypto for secrets at rest: proxy-key hashes (HMAC-SHA-256 with API_KEY_PEPPER) and the
 * AES-256-GCM envelope around each user's token bundle (TOKEN_ENCRYPTION_KEY).
 * Web APIs only: scripts/provision.ts imports this module from Node too.
 * Envelope layout, AAD and key ids are documented in docs/storage.md.
 */
import type { CodexTokenFields } from '../db/statements.ts';
import type { TokenBundle } from './token-bundle.ts';
import {
  base64UrlToBytes,
  bytesToBase64Url,
  bytesToHex,
  hexToBytes,
  utf8Decode,
  utf8Encode,
} from '../shared/encoding.ts';

/** A missing or malformed secret. The message names the setting and never contains its value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

// Spelled this way because Node's types have no global CryptoKey (provision runs there too).
type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export type DecryptFailure = 'malformed' | 'unknown_key' | 'authentication_failed';

/** A ciphertext that cannot be opened. The message says why, and contains no secret. */
export class DecryptError extends Error {
  readonly reason: DecryptFailure;
  constructor(reason: DecryptFailure, message: string) {
    super(message);
    this.name = 'DecryptError';
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// Proxy-key hashing

const hmacKeys = new Map<string, Promise<WebCryptoKey>>();

/** Hex HMAC-SHA-256(API_KEY_PEPPER, key): the only form in which a proxy key is stored. */
export function hashProxyKey(pepper: string | undefined, key: string): Promise<string> {
  return pepperedHmac(pepper, key);
}

/** Hex HMAC-SHA-256 keyed with API_KEY_PEPPER: proxy keys, and the subjects of web rate limits. */
export async function pepperedHmac(pepper: string | undefined, message: string): Promise<string> {
  if (!pepper) throw new ConfigError('API_KEY_PEPPER is not set: configure it as a Worker secret (any long random string).');
  let hmacKey = hmacKeys.get(pepper);
  if (!hmacKey) {
    hmacKey = crypto.subtle.importKey('raw', utf8Encode(pepper), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    hmacKeys.set(pepper, hmacKey);
  }
  const mac = await crypto.subtle.sign('HMAC', await hmacKey, utf8Encode(message));
  return bytesToHex(new Uint8Array(mac));
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Compares two strings without an early exit, so timing does not reveal where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = utf8Encode(a);
  const right = utf8Encode(b);
  const length = Math.max(left.length, right.length);
  let diff = left.length ^ right.length;
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

/** `bytes` random bytes as unpadded base64url (state values, session ids, nonces). */
export function randomToken(bytes = 32): string {
  return bytesToBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

// ---------------------------------------------------------------------------------------------
// TOKEN_ENCRYPTION_KEY

const KEY_FORMS = '64 hex characters, or base64url (padded or not) / base64 of 32 bytes';

/**
 * Decodes TOKEN_ENCRYPTION_KEY (or the variable `name`, e.g. TOKEN_ENCRYPTION_KEY_PREVIOUS) to
 * its 32 bytes; anything else is a ConfigError naming that variable.
 */
export function parseEncryptionKey(raw: string | undefined, name = 'TOKEN_ENCRYPTION_KEY'): Uint8Array<ArrayBuffer> {
  const text = (raw ?? '').trim();
  if (text === '') throw new ConfigError(`${name} is not set: it must be 32 random bytes given as ${KEY_FORMS}.`);
  // 64 hex characters are also valid base64 (of 48 bytes), so hex is tried first.
  if (/^[0-9a-fA-F]{64}$/.test(text)) return hexToBytes(text);
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text) && text.length >= 40) {
    throw new ConfigError(`${name} looks like hex of ${text.length / 2} bytes, not 32: it must be given as ${KEY_FORMS}.`);
  }
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = base64UrlToBytes(text);
  } catch {
    throw new ConfigError(`${name} is neither hex nor base64url: it must be 32 bytes given as ${KEY_FORMS}.`);
  }
  if (bytes.length !== 32) {
    throw new ConfigError(
      `${name} decodes to ${bytes.length} bytes, not 32: it must be given as ${KEY_FORMS}.`,
    );
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The envelope: v1.<kid>.<iv b64url>.<ciphertext+tag b64url>

const ENVELOPE_VERSION = 'v1';
const KID_LABEL = 'usemysub:token-encryption-key-id:v1:';
const IV_BYTES = 12;

interface KeyEntry {
  kid: string;
  key: WebCryptoKey;
}

/**
 * AES-256-GCM keys by key id. The first key encrypts; every key can decrypt, so a rotation can
 * keep the old key around while rows are rewritten.
 */
export interface Keyring {
  /** Key id of the key used for new ciphertexts. */
  readonly currentKid: string;
  /** Encrypts `value` as JSON; `aad` must be given again, identically, to decrypt. */
  encryptJson(value: unknown, aad: string): Promise<string>;
  /** Opens an envelope made by encryptJson with the same `aad`; throws DecryptError otherwise. */
  decryptJson(envelope: string, aad: string): Promise<unknown>;
}

const keyrings = new Map<string, Promise<Keyring>>();

/**
 * The keyring for these TOKEN_ENCRYPTION_KEY values (current first, then older ones), imported
 * once per isolate: this is on the request path.
 */
export function getKeyring(rawKeys: string | undefined | readonly string[]): Promise<Keyring> {
  const list = typeof rawKeys === 'string' || rawKeys === undefined ? [rawKeys ?? ''] : [...rawKeys];
  const cacheKey = list.join('\n');
  let keyring = keyrings.get(cacheKey);
  if (!keyring) {
    keyring = buildKeyring(list);
    keyrings.set(cacheKey, keyring);
    // A ConfigError must not stay cached forever under a value that might be fixed by a redeploy.
    keyring.catch(() => keyrings.delete(cacheKey));
  }
  return keyring;
}

/**
 * The Worker's keyring: TOKEN_ENCRYPTION_KEY encrypts; during a rotation the retired key, in
 * TOKEN_ENCRYPTION_KEY_PREVIOUS, still opens the rows it sealed (docs/storage.md, "Key rotation").
 */
export function tokenKeyring(env: { TOKEN_ENCRYPTION_KEY?: string; TOKEN_ENCRYPTION_KEY_PREVIOUS?: string }): Promise<Keyring> {
  const previous = env.TOKEN_ENCRYPTION_KEY_PREVIOUS?.trim();
  return getKeyring(previous ? [env.TOKEN_ENCRYPTION_KEY ?? '', previous] : env.TOKEN_ENCRYPTION_KEY);
}

async function buildKeyring(rawKeys: readonly string[]): Promise<Keyring> {
  if (rawKeys.length === 0) throw new ConfigError('TOKEN_ENCRYPTION_KEY is not set.');
  const entries: KeyEntry[] = [];
  for (const [index, raw] of rawKeys.entries()) {
    const bytes = parseEncryptionKey(raw, index === 0 ? 'TOKEN_ENCRYPTION_KEY' : 'TOKEN_ENCRYPTION_KEY_PREVIOUS');
    const kid = await keyId(bytes);
    const key = await crypto.subtle.importKey('raw', bytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    entries.push({ kid, key });
  }
  const current = entries[0]!;
  const byKid = new Map(entries.map((entry) => [entry.kid, entry.key]));

  return {
    currentKid: current.kid,
    async encryptJson(value, aad) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: utf8Encode(aad) },
        current.key,
        utf8Encode(JSON.stringify(value)),
      );
      return [ENVELOPE_VERSION, current.kid, bytesToBase64Url(iv), bytesToBase64Url(new Uint8Array(sealed))].join('.');
    },
    async decryptJson(envelope, aad) {
      const { kid, iv, sealed } = splitEnvelope(envelope);
      const key = byKid.get(kid);
      if (!key) {
        throw new DecryptError('unknown_key', `ciphertext was sealed with key id ${kid}, which is not the configured TOKEN_ENCRYPTION_KEY`);
      }
      let plain: ArrayBuffer;
      try {
        plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: utf8Encode(aad) }, key, sealed);
      } catch {
        throw new DecryptError(
          'authentication_failed',
          'ciphertext failed authentication: it was altered, or it belongs to another user or purpose',
        );
      }
      try {
        return JSON.parse(utf8Decode(new Uint8Array(plain))) as unknown;
      } catch {
        throw new DecryptError('malformed', 'decrypted payload is not JSON');
      }
    },
  };
}

/** First 8 hex characters of SHA-256(label ‖ key): names a key without revealing it. */
async function keyId(keyBytes: Uint8Array): Promise<string> {
  const label = utf8Encode(KID_LABEL);
  const input = new Uint8Array(label.length + keyBytes.length);
  input.set(label);
  input.set(keyBytes, label.length);
  const digest = await crypto.subtle.digest('SHA-256', input);
  return bytesToHex(new Uint8Array(digest)).slice(0, 8);
}

function splitEnvelope(envelope: string): { kid: string; iv: Uint8Array<ArrayBuffer>; sealed: Uint8Array<ArrayBuffer> } {
  const parts = envelope.split('.');
  const [version, kid, ivText, sealedText] = parts;
  if (parts.length !== 4 || version !== ENVELOPE_VERSION || !kid || !/^[0-9a-f]{8}$/.test(kid) || !ivText || !sealedText) {
    throw new DecryptError('malformed', `ciphertext is not a ${ENVELOPE_VERSION} envelope`);
  }
  let iv: Uint8Array<ArrayBuffer>;
  let sealed: Uint8Array<ArrayBuffer>;
  try {
    iv = base64UrlToBytes(ivText);
    sealed = base64UrlToBytes(sealedText);
  } catch {
    throw new DecryptError('malformed', 'ciphertext envelope is not base64url');
  }
  // 16 bytes is the GCM tag alone (an empty plaintext); anything shorter cannot be ours.
  if (iv.length !== IV_BYTES || sealed.length < 16) throw new DecryptError('malformed', 'ciphertext envelope has wrong sizes');
  return { kid, iv, sealed };
}

// ---------------------------------------------------------------------------------------------
// Token bundles

/** AAD for a user's token bundle: a ciphertext opens only on the row of the user it was made for. */
export function tokenBundleAad(userId: string): string {
  return `usemysub:codex_tokens:v1:${userId}`;
}

export function encryptTokenBundle(keyring: Keyring, userId: string, bundle: TokenBundle): Promise<string> {
  return keyring.encryptJson(bundle, tokenBundleAad(userId));
}

/** Decrypts and shape-checks a token bundle; throws DecryptError on any failure. */
export async function decryptTokenBundle(keyring: Keyring, userId: string, envelope: string): Promise<TokenBundle> {
  const value = await keyring.decryptJson(envelope, tokenBundleAad(userId));
  if (!isTokenBundle(value)) throw new DecryptError('malformed', 'decrypted payload is not a token bundle');
  return value;
}

/** The `codex_tokens` columns written for a bundle: its envelope plus the clear, non-secret fields. */
export type SealedTokenBundle = CodexTokenFields;

/** Encrypts `bundle` for `userId` and lays out the row fields (provision, onboarding, refresh). */
export async function sealTokenBundle(keyring: Keyring, userId: string, bundle: TokenBundle): Promise<SealedTokenBundle> {
  return {
    ciphertext: await encryptTokenBundle(keyring, userId, bundle),
    accountId: bundle.accountId,
    planType: bundle.planType,
    accountEmail: bundle.email,
    accessExpiresAt: bundle.expiresAt,
    refreshedAt: bundle.refreshedAt,
  };
}

function isTokenBundle(value: unknown): value is TokenBundle {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const stringOrNull = (x: unknown) => x === null || typeof x === 'string';
  const numberOrNull = (x: unknown) => x === null || typeof x === 'number';
  return (
    typeof v.accessToken === 'string' &&
    typeof v.refreshToken === 'string' &&
    typeof v.accountId === 'string' &&
    stringOrNull(v.idToken) &&
    stringOrNull(v.planType) &&
    stringOrNull(v.email) &&
    numberOrNull(v.expiresAt) &&
    numberOrNull(v.refreshedAt)
  );
}

// ---------------------------------------------------------------------------------------------
// Stored Responses items (accounts/response-store.ts)

/**
 * AAD for one row of a user's response store: the purpose label differs from token bundles', and
 * the row key is bound too, so a ciphertext opens only in the row (and for the user) it was made for.
 */
export function storedItemsAad(userId: string, rowKey: string): string {
  return `usemysub:response_store:v1:${userId}:${rowKey}`;
}

/** Seals one stored value (a response record, an item, a tool turn's reasoning) for `userId`'s row `rowKey`. */
export function sealStoredValue(keyring: Keyring, userId: string, rowKey: string, value: unknown): Promise<string> {
  return keyring.encryptJson(value, storedItemsAad(userId, rowKey));
}

/** Opens a value sealed by sealStoredValue for the same user and row; throws DecryptError otherwise. */
export function openStoredValue(keyring: Keyring, userId: string, rowKey: string, envelope: string): Promise<unknown> {
  return keyring.decryptJson(envelope, storedItemsAad(userId, rowKey));
}
