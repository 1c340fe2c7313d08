/**
 * Pure policy for the AuthBroker: when to refresh, how to merge a token-endpoint answer into
 * the stored bundle, the retry schedule, and the grants the Worker turns into errors.
 */
import { ApiError } from '../shared/errors.ts';
import { onboardingUrl, reauthMessage } from '../shared/reconnect.ts';
import { readTokenClaims } from './jwt.ts';
import type { TokenEndpointTokens } from '../upstream/oauth.ts';
import type { TokenBundle } from './token-bundle.ts';

/** What the broker hands the Worker: a usable access token, or why there is none. */
export type AccessGrant =
  | { ok: true; accessToken: string; accountId: string }
  | { ok: false; code: 'codex_reauth_required' | 'token_refresh_unavailable'; message: string };

/** Refresh when the access token has less than this left. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** Without an `exp` claim, refresh tokens this old (the Codex CLI's rule). */
export const MAX_AGE_WITHOUT_EXP_MS = 8 * 24 * 60 * 60_000;
/**
 * Pauses between token-endpoint attempts after a transient failure: 3 attempts in all. Each
 * pause is jittered to 50–150 %, so the worst case stays under a second of waiting.
 */
export const REFRESH_RETRY_DELAYS_MS: readonly number[] = [150, 450];
/** A single token-endpoint attempt gives up after this long. */
export const REFRESH_ATTEMPT_TIMEOUT_MS = 10_000;
/** When a D1 write of rotated tokens fails, the alarm retries it after these delays (last one repeats). */
export const PENDING_FLUSH_RETRY_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000];
/** A transient refresh failure still serves the current token when it has at least this left. */
const STILL_USABLE_MS = 30_000;

/** True when `bundle`'s access token should be refreshed before use. */
export function needsRefresh(bundle: TokenBundle, now: number): boolean {
  if (bundle.expiresAt !== null) return bundle.expiresAt - now < REFRESH_MARGIN_MS;
  return bundle.refreshedAt === null || now - bundle.refreshedAt > MAX_AGE_WITHOUT_EXP_MS;
}

/** True when the access token may still be sent upstream although a refresh was due. */
export function stillUsable(bundle: TokenBundle, now: number): boolean {
  return bundle.expiresAt !== null && bundle.expiresAt - now > STILL_USABLE_MS;
}

/** The bundle after a successful refresh: fields present in the answer replace the old ones. */
export function mergeRefreshed(old: TokenBundle, tokens: TokenEndpointTokens, now: number): TokenBundle {
  const accessToken = tokens.accessToken ?? old.accessToken;
  const idToken = tokens.idToken ?? old.idToken;
  const claims = readTokenClaims(idToken, accessToken);
  const newExpiry = claims.expiresAt ?? (tokens.expiresIn !== undefined ? now + tokens.expiresIn * 1000 : null);
  return {
    accessToken,
    refreshToken: tokens.refreshToken ?? old.refreshToken,
    idToken,
    // The account chosen when the link was made stays the one requests are sent for.
    accountId: old.accountId,
    expiresAt: tokens.accessToken !== undefined ? newExpiry : old.expiresAt,
    planType: claims.planType ?? old.planType,
    email: claims.email ?? old.email,
    refreshedAt: now,
  };
}

/** A jittered delay (50–150 % of `base`), so many users' retries do not line up. */
export function jittered(base: number): number {
  return Math.round(base * (0.5 + Math.random()));
}

export function grantFor(bundle: TokenBundle): AccessGrant {
  return { ok: true, accessToken: bundle.accessToken, accountId: bundle.accountId };
}

export function notConnectedGrant(publicAppOrigin: string | undefined): AccessGrant {
  return {
    ok: false,
    code: 'codex_reauth_required',
    message: `No ChatGPT account is connected to this UseMySub account. Connect one at ${onboardingUrl(publicAppOrigin)}.`,
  };
}

export function reauthGrant(publicAppOrigin: string | undefined): AccessGrant {
  return {
    ok: false,
    code: 'codex_reauth_required',
    message: reauthMessage(publicAppOrigin),
  };
}

export function unreadableGrant(publicAppOrigin: string | undefined): AccessGrant {
  return {
    ok: false,
    code: 'codex_reauth_required',
    message:
      'Your stored ChatGPT sign-in could not be read by the server. ' +
      `Reconnect your ChatGPT account at ${onboardingUrl(publicAppOrigin)}.`,
  };
}

export function unavailableGrant(): AccessGrant {
  return {
    ok: false,
    code: 'token_refresh_unavailable',
    message: 'Your ChatGPT sign-in could not be refreshed right now. Please try again in a moment.',
  };
}

/** The access token of an ok grant; otherwise the ApiError (401 reconnect or 503) to answer with. */
export function accessFromGrant(grant: AccessGrant): { accessToken: string; accountId: string } {
  if (!grant.ok) throw new ApiError(grant.code, grant.message);
  return { accessToken: grant.accessToken, accountId: grant.accountId };
}
