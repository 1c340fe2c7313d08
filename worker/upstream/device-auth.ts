/**
 * Device-code sign-in, as `codex login --device-auth` does it (CODEX-BACKEND-2026 §1.6): a user
 * code from auth.openai.com, polls until the user has approved it, then the ordinary code
 * exchange with the verifier the server made. Calls go through upstreamFetch, so the relay
 * carries them like every other upstream call. No secret ever reaches a result message or a log.
 */
import { isObject, parseJsonOrNull } from '../shared/json.ts';
import { OPENAI_AUTH_URL, upstreamFetch } from './egress.ts';
import { errorCode, OAUTH_CLIENT_ID } from './oauth.ts';

/** Where the user types the code. */
export const DEVICE_VERIFICATION_URL = `${OPENAI_AUTH_URL}/codex/device`;
/** The redirect URI the device flow's code is bound to (sent with the code exchange). */
export const DEVICE_REDIRECT_URI = `${OPENAI_AUTH_URL}/deviceauth/callback`;
/** The Codex CLI gives up after 15 minutes; so do we. */
export const DEVICE_CODE_TTL_MS = 15 * 60_000;
/** `interval` when the answer has none; polls never come closer than the minimum. */
const DEFAULT_INTERVAL_MS = 5_000;
const MIN_INTERVAL_MS = 1_000;
const MAX_INTERVAL_MS = 60_000;

export interface DeviceCode {
  deviceAuthId: string;
  userCode: string;
  intervalMs: number;
}

export type DeviceCodeResult =
  | { kind: 'ok'; code: DeviceCode }
  /** 404: device-code login is not enabled for this client. */
  | { kind: 'disabled' }
  /** Network failure, 5xx, a challenge page or an answer we cannot read. */
  | { kind: 'unavailable'; status: number | null };

export type DevicePollResult =
  | { kind: 'pending' }
  | { kind: 'approved'; authorizationCode: string; codeVerifier: string }
  /** An HTML 403: a bot check in front of auth.openai.com, which no amount of polling passes. */
  | { kind: 'challenged' }
  /** Any other 4xx: the code expired or was refused; a new one is needed. */
  | { kind: 'refused'; status: number; code: string | null }
  /** Network failure or 5xx: worth polling again. */
  | { kind: 'unavailable'; status: number | null };

/** Step 1: asks for a user code. */
export async function requestDeviceCode(env: Env, signal?: AbortSignal): Promise<DeviceCodeResult> {
  const sent = await post(env, 'device_usercode', { client_id: OAUTH_CLIENT_ID }, signal);
  if (sent === null) return { kind: 'unavailable', status: null };
  const { status, body } = sent;
  if (status === 404) return { kind: 'disabled' };
  if (status < 200 || status >= 300 || !isObject(body)) return { kind: 'unavailable', status };
  const deviceAuthId = nonEmpty(body.device_auth_id);
  const userCode = nonEmpty(body.user_code) ?? nonEmpty(body.usercode);
  if (!deviceAuthId || !userCode) return { kind: 'unavailable', status };
  return { kind: 'ok', code: { deviceAuthId, userCode, intervalMs: intervalMs(body.interval) } };
}

/** Step 3: one poll. 403 and 404 mean the user has not approved yet. */
export async function pollDeviceCode(
  env: Env,
  code: { deviceAuthId: string; userCode: string },
  signal?: AbortSignal,
): Promise<DevicePollResult> {
  const sent = await post(env, 'device_token', { device_auth_id: code.deviceAuthId, user_code: code.userCode }, signal);
  if (sent === null) return { kind: 'unavailable', status: null };
  const { status, body, html } = sent;
  if (status === 403 && html) return { kind: 'challenged' };
  if (status === 403 || status === 404) return { kind: 'pending' };
  if (status >= 500) return { kind: 'unavailable', status };
  if (status < 200 || status >= 300) return { kind: 'refused', status, code: errorCode(body) };
  const authorizationCode = isObject(body) ? nonEmpty(body.authorization_code) : null;
  const codeVerifier = isObject(body) ? nonEmpty(body.code_verifier) : null;
  if (!authorizationCode || !codeVerifier) return { kind: 'unavailable', status };
  return { kind: 'approved', authorizationCode, codeVerifier };
}

/** `interval` is a string of seconds (sometimes a number); clamped so a bad value cannot hammer or stall. */
function intervalMs(value: unknown): number {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) return DEFAULT_INTERVAL_MS;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.round(seconds * 1000)));
}

async function post(
  env: Env,
  route: 'device_usercode' | 'device_token',
  fields: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<{ status: number; body: unknown; html: boolean } | null> {
  try {
    const response = await upstreamFetch(env, route, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(fields),
      ...(signal ? { signal } : {}),
    });
    const html = (response.headers.get('content-type') ?? '').includes('text/html');
    const text = await response.text();
    return { status: response.status, body: parseJsonOrNull(text), html };
  } catch {
    // A network failure, an abort, or the relay's own refusal: nothing was learnt.
    return null;
  }
}

function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}
