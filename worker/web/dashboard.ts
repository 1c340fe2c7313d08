/** What the dashboard shows: the ChatGPT link, usage windows, and the user's proxy keys. */
import { createApiKey, type CreatedApiKey } from '../accounts/api-keys.ts';
import { loadUsageReport, type UsageReport } from '../accounts/usage-report.ts';
import { DecryptError, tokenKeyring } from '../accounts/crypto.ts';
import { listApiKeys, type ApiKeyRow } from '../db/api-keys.ts';
import { readCodexTokens, type CodexTokenRow } from '../db/codex-tokens.ts';
import { putKeyFlash, takeKeyFlash } from '../db/key-flashes.ts';
import type { RateLimitSnapshot } from '../upstream/rate-limits.ts';
import { currentUsage } from '../upstream/usage-endpoint.ts';
import { KEY_FLASH_TTL_MS, KEY_NAME_MAX_LENGTH, MAX_ACTIVE_KEYS } from './settings.ts';

export interface DashboardData {
  link: CodexTokenRow | null;
  usage: RateLimitSnapshot | null;
  keys: ApiKeyRow[];
  report: UsageReport;
}

export async function loadDashboard(env: Env, userId: string, now: number, waitUntil: (p: Promise<unknown>) => void): Promise<DashboardData> {
  const [link, keys, report] = await Promise.all([readCodexTokens(env.DB, userId), listApiKeys(env.DB, userId), loadUsageReport(env.DB, userId, now)]);
  const usage = link?.status === 'active' ? await currentUsage(env, userId, now, waitUntil) : null;
  return { link, usage, keys, report };
}

export type KeyNameCheck = { ok: true; name: string } | { ok: false; error: string };

/** A key name as typed: trimmed, inner whitespace collapsed, 1 to 64 printable characters. */
export function checkKeyName(raw: string): KeyNameCheck {
  const name = raw.replace(/\s+/g, ' ').trim();
  if (name === '') return { ok: false, error: 'Give the key a name, such as the app that will use it.' };
  if (name.length > KEY_NAME_MAX_LENGTH) return { ok: false, error: `Use at most ${KEY_NAME_MAX_LENGTH} characters.` };
  if (/\p{Cc}/u.test(name)) return { ok: false, error: 'Use letters, digits, spaces and punctuation only.' };
  return { ok: true, name };
}

export type KeyCreation = { ok: true; key: CreatedApiKey } | { ok: false; error: string };

/** Creates a named key, within the per-user limit of active keys. */
export async function createNamedKey(env: Env, userId: string, rawName: string, now: number): Promise<KeyCreation> {
  const name = checkKeyName(rawName);
  if (!name.ok) return name;
  const active = (await listApiKeys(env.DB, userId)).filter((key) => key.revoked_at === null).length;
  if (active >= MAX_ACTIVE_KEYS) {
    return { ok: false, error: `You have ${MAX_ACTIVE_KEYS} active keys, the most allowed. Revoke one you no longer use first.` };
  }
  return { ok: true, key: await createApiKey(env, userId, name.name, now) };
}

/** AAD of a flashed key: it opens only for the session and key it was stored for. */
function keyFlashAad(sessionHash: string, keyId: string): string {
  return `usemysub:key_flashes:v1:${sessionHash}:${keyId}`;
}

/** Holds a new key, encrypted, for the dashboard load that follows the create-key redirect. */
export async function flashNewKey(env: Env, sessionHash: string, created: CreatedApiKey, now: number): Promise<void> {
  const keyring = await tokenKeyring(env);
  const keyCiphertext = await keyring.encryptJson(created.key, keyFlashAad(sessionHash, created.id));
  await putKeyFlash(env.DB, { sessionHash, keyId: created.id, keyCiphertext, expiresAt: now + KEY_FLASH_TTL_MS }, now);
}

/**
 * The key flashed for this session, removed as it is read: shown by one page load only, and
 * only while it is one of `keys` (the user's) and not revoked.
 */
export async function takeNewKey(env: Env, sessionHash: string, keys: ApiKeyRow[], now: number): Promise<CreatedApiKey | null> {
  const row = await takeKeyFlash(env.DB, sessionHash, now);
  const listed = row ? keys.find((key) => key.id === row.key_id && key.revoked_at === null) : undefined;
  if (!row || !listed) return null;
  try {
    const key = await (await tokenKeyring(env)).decryptJson(row.key_ciphertext, keyFlashAad(sessionHash, row.key_id));
    if (typeof key !== 'string') return null;
    return { id: listed.id, key, hint: listed.key_hint, name: listed.name, createdAt: listed.created_at };
  } catch (err) {
    // A key rotated away within the flash's few minutes: the key itself still works, it just cannot be shown.
    if (err instanceof DecryptError) return null;
    throw err;
  }
}
