/**
 * Connecting a ChatGPT account: the PKCE authorization started on /onboarding and finished by
 * the pasted callback address, the device-code sign-in (device-login.ts), or an auth.json from
 * the Codex CLI. Either way the tokens are
 * stored encrypted and the user's AuthBroker forgets what it had cached.
 */
import { AuthFileError, parseCodexAuthFile } from '../accounts/codex-auth-file.ts';
import { tokenKeyring, sealTokenBundle, type Keyring } from '../accounts/crypto.ts';
import { replaceCodexTokens } from '../db/codex-tokens.ts';
import { claimOAuthState, findOAuthState, insertOAuthState } from '../db/oauth-states.ts';
import { readTokenClaims } from '../accounts/jwt.ts';
import { buildAuthorizeUrl, exchangeAuthorizationCode } from '../upstream/oauth.ts';
import type { TokenBundle } from '../accounts/token-bundle.ts';
import { parsePastedCallback, type PastedCallback } from './callback-url.ts';
import { hashSecret, newPkcePair, newSecret } from './secrets.ts';
import { MAX_OAUTH_STATES_PER_USER, OAUTH_STATE_TTL_MS, SPENT_ROW_RETENTION_MS } from './settings.ts';

/** AAD of a stored PKCE verifier: it opens only for the user and state it was made for. */
function verifierAad(userId: string, stateHash: string): string {
  return `usemysub:oauth_states:v1:${userId}:${stateHash}`;
}

/** Starts a sign-in: stores a fresh state and the encrypted verifier, returns the ChatGPT sign-in URL. */
export async function startAuthorization(env: Env, userId: string, now: number): Promise<string> {
  const state = newSecret();
  const stateHash = await hashSecret(state);
  const { verifier, challenge } = await newPkcePair();
  const keyring = await tokenKeyring(env);
  const verifierCiphertext = await keyring.encryptJson(verifier, verifierAad(userId, stateHash));
  await insertOAuthState(
    env.DB,
    { stateHash, userId, verifierCiphertext, now, expiresAt: now + OAUTH_STATE_TTL_MS },
    now - SPENT_ROW_RETENTION_MS,
    MAX_OAUTH_STATES_PER_USER,
  );
  return buildAuthorizeUrl({ state, codeChallenge: challenge });
}

/** The non-secret facts of a newly stored link, for the confirmation. */
export interface LinkedAccount {
  accountId: string;
  email: string | null;
  planType: string | null;
}

export type ConnectFailure =
  | { kind: 'unreadable'; reason: Extract<PastedCallback, { kind: 'unreadable' }>['reason'] }
  | { kind: 'denied'; description: string | null }
  /** The state is not one this user started here (another tab, another account, or made up). */
  | { kind: 'state_mismatch' }
  | { kind: 'state_expired' }
  | { kind: 'state_used' }
  /** The token endpoint refused the code (expired, used, or not from this sign-in). */
  | { kind: 'code_rejected' }
  /** ChatGPT could not be reached or answered with an error worth retrying. */
  | { kind: 'exchange_unavailable' }
  /** The tokens carry no ChatGPT account id (or miss a token). */
  | { kind: 'incomplete_tokens' }
  /** Another UseMySub user has linked this ChatGPT account: one account serves one user. */
  | { kind: 'account_taken' }
  | { kind: 'auth_file'; message: string }
  | DeviceFailure;

/** How a device-code sign-in can end without a link (stored by kind in device_logins.outcome). */
export type DeviceFailure =
  /** auth.openai.com answered 404 to the code request: device-code login is off for this client. */
  | { kind: 'device_disabled' }
  /** No code could be had (or a poll kept failing): ChatGPT unreachable or answering errors. */
  | { kind: 'device_unavailable' }
  /** 15 minutes passed, or auth.openai.com ended the code. */
  | { kind: 'device_expired' }
  /** auth.openai.com put a bot check in front of the server's requests. */
  | { kind: 'device_challenged' };

export type ConnectResult = { ok: true; account: LinkedAccount } | { ok: false; failure: ConnectFailure };

/** Finishes a sign-in from the pasted callback address. */
export async function completeAuthorization(env: Env, userId: string, pasted: string, now: number): Promise<ConnectResult> {
  const callback = parsePastedCallback(pasted);
  if (callback.kind === 'unreadable') return fail({ kind: 'unreadable', reason: callback.reason });
  if (callback.kind === 'denied') return fail({ kind: 'denied', description: callback.description });

  const stateHash = await hashSecret(callback.state);
  const row = await findOAuthState(env.DB, stateHash);
  if (!row || row.user_id !== userId) return fail({ kind: 'state_mismatch' });
  if (row.used_at !== null || row.verifier_ciphertext === null) return fail({ kind: 'state_used' });
  if (row.expires_at <= now) return fail({ kind: 'state_expired' });

  const keyring = await tokenKeyring(env);
  const verifier = await keyring.decryptJson(row.verifier_ciphertext, verifierAad(userId, stateHash));
  if (typeof verifier !== 'string') throw new Error('stored PKCE verifier is not a string');
  // Spent before the exchange, so a second paste of the same address cannot race this one.
  if (!(await claimOAuthState(env.DB, stateHash, userId, now))) return fail({ kind: 'state_used' });
  return exchangeAndStore(env, userId, { code: callback.code, codeVerifier: verifier }, now);
}

/**
 * Exchanges an authorization code for the first tokens and stores them as the user's link.
 * Shared by the pasted callback and the device-code sign-in (which brings its own redirect URI
 * and the verifier auth.openai.com made).
 */
export async function exchangeAndStore(
  env: Env,
  userId: string,
  grant: { code: string; codeVerifier: string; redirectUri?: string },
  now: number,
): Promise<ConnectResult> {
  const result = await exchangeAuthorizationCode(env, grant);
  if (result.kind === 'permanent' || (result.kind === 'transient' && result.status !== null && result.status < 500)) {
    console.warn(JSON.stringify({ event: 'oauth_code_rejected', userId, status: result.status, code: result.code }));
    return fail({ kind: 'code_rejected' });
  }
  if (result.kind === 'transient') {
    console.warn(JSON.stringify({ event: 'oauth_exchange_unavailable', userId, status: result.status, code: result.code }));
    return fail({ kind: 'exchange_unavailable' });
  }
  const { accessToken, refreshToken, idToken, expiresIn } = result.tokens;
  if (!accessToken || !refreshToken) return fail({ kind: 'incomplete_tokens' });
  const claims = readTokenClaims(idToken, accessToken);
  if (!claims.accountId) return fail({ kind: 'incomplete_tokens' });
  const bundle: TokenBundle = {
    accessToken,
    refreshToken,
    idToken: idToken ?? null,
    accountId: claims.accountId,
    expiresAt: claims.expiresAt ?? (expiresIn !== undefined ? now + expiresIn * 1000 : null),
    planType: claims.planType,
    email: claims.email,
    refreshedAt: now,
  };
  return storeLink(env, await tokenKeyring(env), userId, bundle, now);
}

/** Connects from the text of a Codex CLI auth.json (pasted or uploaded). */
export async function connectWithAuthFile(env: Env, userId: string, text: string, now: number): Promise<ConnectResult> {
  let bundle: TokenBundle;
  try {
    bundle = parseCodexAuthFile(text);
  } catch (err) {
    if (err instanceof AuthFileError) return fail({ kind: 'auth_file', message: err.message });
    throw err;
  }
  const keyring = await tokenKeyring(env);
  return storeLink(env, keyring, userId, { ...bundle, refreshedAt: bundle.refreshedAt ?? now }, now);
}

/**
 * Replaces the user's tokens (clearing any reconnect flag) and resets their AuthBroker; refused
 * when another user has linked the same ChatGPT account.
 */
async function storeLink(env: Env, keyring: Keyring, userId: string, bundle: TokenBundle, now: number): Promise<ConnectResult> {
  if (!(await replaceCodexTokens(env.DB, userId, await sealTokenBundle(keyring, userId, bundle), now))) {
    console.warn(JSON.stringify({ event: 'codex_link_refused', reason: 'account_taken', userId, accountId: bundle.accountId }));
    return fail({ kind: 'account_taken' });
  }
  try {
    await env.AUTH_BROKER.getByName(userId).reset(userId);
  } catch (err) {
    // The tokens are stored; the broker re-reads D1 within its cache lifetime anyway.
    console.error(JSON.stringify({ event: 'auth_broker_reset_failed', userId, error: err instanceof Error ? err.name : 'error' }));
  }
  console.log(JSON.stringify({ event: 'codex_link_connected', userId, accountId: bundle.accountId, planType: bundle.planType }));
  return { ok: true, account: { accountId: bundle.accountId, email: bundle.email, planType: bundle.planType } };
}

function fail(failure: ConnectFailure): ConnectResult {
  return { ok: false, failure };
}
