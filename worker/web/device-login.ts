/**
 * The device-code sign-in on /onboarding: the Worker asks auth.openai.com for a code, the user
 * approves it on their own device, and the page asks the Worker to poll (through the relay)
 * until they have. The login is bound to the browser that started it by a cookie holding a
 * random id; only its hash is stored, and the device_auth_id and user code only encrypted.
 */
import { tokenKeyring } from '../accounts/crypto.ts';
import {
  claimDevicePoll,
  finishDeviceLogin,
  findDeviceLogin,
  insertDeviceLogin,
  setDeviceLoginOutcome,
  type DeviceLoginRow,
} from '../db/device-logins.ts';
import { DEVICE_CODE_TTL_MS, DEVICE_REDIRECT_URI, pollDeviceCode, requestDeviceCode } from '../upstream/device-auth.ts';
import { exchangeAndStore, type ConnectFailure } from './onboarding.ts';
import { hashSecret, isSecretShaped, newSecret } from './secrets.ts';
import { SPENT_ROW_RETENTION_MS } from './settings.ts';

/** What the page shows for a login in progress. */
export interface PendingDeviceLogin {
  userCode: string;
  expiresAt: number;
  intervalMs: number;
}

export type DeviceLoginView =
  | { state: 'pending'; login: PendingDeviceLogin }
  | { state: 'connected' }
  /** Approved; another request is exchanging the code right now. */
  | { state: 'finishing' }
  | { state: 'failed'; failure: ConnectFailure };

export type DevicePoll = DeviceLoginView & { retryAfterMs?: number };

interface DeviceSecret {
  deviceAuthId: string;
  userCode: string;
}

/** The outcome while the approved code is being exchanged. */
const EXCHANGING = 'exchanging';

/** Failure kinds that may be stored as an outcome and shown again (none carries data). */
const STORABLE_FAILURES = new Set<ConnectFailure['kind']>([
  'device_disabled', 'device_unavailable', 'device_expired', 'device_challenged',
  'code_rejected', 'exchange_unavailable', 'incomplete_tokens', 'account_taken',
]);

/** AAD of the stored code: it opens only for the user and login it was made for. */
function secretAad(userId: string, loginHash: string): string {
  return `usemysub:device_logins:v1:${userId}:${loginHash}`;
}

/** Asks auth.openai.com for a code; the login id goes into the browser's cookie. */
export async function startDeviceLogin(
  env: Env,
  userId: string,
  now: number,
): Promise<{ ok: true; loginId: string } | { ok: false; failure: ConnectFailure }> {
  const result = await requestDeviceCode(env);
  if (result.kind === 'disabled') {
    console.warn(JSON.stringify({ event: 'device_login_disabled', userId }));
    return { ok: false, failure: { kind: 'device_disabled' } };
  }
  if (result.kind === 'unavailable') {
    console.warn(JSON.stringify({ event: 'device_login_unavailable', userId, status: result.status }));
    return { ok: false, failure: { kind: 'device_unavailable' } };
  }
  const loginId = newSecret();
  const loginHash = await hashSecret(loginId);
  const secret: DeviceSecret = { deviceAuthId: result.code.deviceAuthId, userCode: result.code.userCode };
  const secretCiphertext = await (await tokenKeyring(env)).encryptJson(secret, secretAad(userId, loginHash));
  await insertDeviceLogin(
    env.DB,
    { loginHash, userId, secretCiphertext, intervalMs: result.code.intervalMs, now, expiresAt: now + DEVICE_CODE_TTL_MS },
    now - SPENT_ROW_RETENTION_MS,
  );
  return { ok: true, loginId };
}

/** The login behind the browser's cookie, as the page shows it; null when there is none to show. */
export async function viewDeviceLogin(env: Env, userId: string, loginId: string, now: number): Promise<DeviceLoginView | null> {
  const found = await ownLogin(env, userId, loginId);
  if (!found) return null;
  const { row, loginHash } = found;
  if (row.finished_at !== null) return finishedView(row);
  if (row.expires_at <= now) return { state: 'failed', failure: { kind: 'device_expired' } };
  const secret = await openSecret(env, row, loginHash);
  return { state: 'pending', login: { userCode: secret.userCode, expiresAt: row.expires_at, intervalMs: row.interval_ms } };
}

/**
 * One step of the sign-in: polls auth.openai.com unless that was done less than an interval
 * ago, and on approval exchanges the code and stores the link.
 */
export async function pollDeviceLogin(env: Env, userId: string, loginId: string, now: number): Promise<DevicePoll | null> {
  const found = await ownLogin(env, userId, loginId);
  if (!found) return null;
  const { row, loginHash } = found;
  if (row.finished_at !== null) return finishedView(row);
  if (row.expires_at <= now) return end(env, loginHash, { kind: 'device_expired' }, now);

  const secret = await openSecret(env, row, loginHash);
  const pending = (retryAfterMs: number): DevicePoll => ({
    state: 'pending',
    login: { userCode: secret.userCode, expiresAt: row.expires_at, intervalMs: row.interval_ms },
    retryAfterMs,
  });
  if (!(await claimDevicePoll(env.DB, loginHash, userId, now))) {
    return pending(Math.max(0, (row.polled_at ?? now) + row.interval_ms - now));
  }

  const result = await pollDeviceCode(env, secret);
  switch (result.kind) {
    case 'pending':
      return pending(row.interval_ms);
    case 'unavailable':
      // A blip on the way to auth.openai.com: the code is still good, so keep polling.
      console.warn(JSON.stringify({ event: 'device_poll_unavailable', userId, status: result.status }));
      return pending(row.interval_ms);
    case 'challenged':
      console.warn(JSON.stringify({ event: 'device_poll_challenged', userId }));
      return end(env, loginHash, { kind: 'device_challenged' }, now);
    case 'refused':
      console.warn(JSON.stringify({ event: 'device_poll_refused', userId, status: result.status, code: result.code }));
      return end(env, loginHash, { kind: 'device_expired' }, now);
    case 'approved': {
      // The code is single-use: finished (and its secrets deleted) before the exchange, once.
      if (!(await finishDeviceLogin(env.DB, loginHash, EXCHANGING, now))) return { state: 'finishing' };
      const connected = await exchangeAndStore(
        env,
        userId,
        { code: result.authorizationCode, codeVerifier: result.codeVerifier, redirectUri: DEVICE_REDIRECT_URI },
        now,
      );
      await setDeviceLoginOutcome(env.DB, loginHash, connected.ok ? 'connected' : connected.failure.kind);
      return connected.ok ? { state: 'connected' } : { state: 'failed', failure: connected.failure };
    }
  }
}

async function ownLogin(env: Env, userId: string, loginId: string): Promise<{ row: DeviceLoginRow; loginHash: string } | null> {
  if (!isSecretShaped(loginId)) return null;
  const loginHash = await hashSecret(loginId);
  const row = await findDeviceLogin(env.DB, loginHash);
  // Another user's id (a cookie left from an earlier account in this browser) is simply not shown.
  return row && row.user_id === userId ? { row, loginHash } : null;
}

async function openSecret(env: Env, row: DeviceLoginRow, loginHash: string): Promise<DeviceSecret> {
  if (row.secret_ciphertext === null) throw new Error('unfinished device login without its secret');
  const secret = (await (await tokenKeyring(env)).decryptJson(row.secret_ciphertext, secretAad(row.user_id, loginHash))) as DeviceSecret;
  if (typeof secret?.deviceAuthId !== 'string' || typeof secret.userCode !== 'string') throw new Error('stored device code is malformed');
  return secret;
}

async function end(env: Env, loginHash: string, failure: ConnectFailure, now: number): Promise<DevicePoll> {
  await finishDeviceLogin(env.DB, loginHash, failure.kind, now);
  return { state: 'failed', failure };
}

function finishedView(row: DeviceLoginRow): DeviceLoginView {
  if (row.outcome === 'connected') return { state: 'connected' };
  if (row.outcome === EXCHANGING) return { state: 'finishing' };
  const kind = row.outcome as ConnectFailure['kind'] | null;
  if (kind !== null && STORABLE_FAILURES.has(kind)) return { state: 'failed', failure: { kind } as ConnectFailure };
  return { state: 'failed', failure: { kind: 'exchange_unavailable' } };
}
