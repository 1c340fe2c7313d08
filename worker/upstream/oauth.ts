/**
 * ChatGPT OAuth (CODEX-PROTOCOL §2): the authorize URL the onboarding page links to, and the
 * token endpoint client (refresh and code exchange). Token calls go through upstreamFetch
 * (relay selection lives there). No token value is ever put in a result's message, an error,
 * or a log line.
 */
import { isObject, parseJsonOrNull } from '../shared/json.ts';
import { CODEX_ORIGINATOR, OPENAI_AUTH_URL, upstreamFetch } from './egress.ts';

/** The Codex CLI's public OAuth client. */
export const OAUTH_CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';
/** The redirect URI registered for that client (the CLI's local callback server). */
export const OAUTH_REDIRECT_URI = 'http://localhost:1455/auth/callback';
/** What the Codex CLI asks for; `offline_access` is what yields a refresh token. */
const OAUTH_SCOPE = 'openid profile email offline_access';

/**
 * The browser sign-in URL for a PKCE (S256) authorization, with the parameters the Codex CLI
 * sends. The answer lands on OAUTH_REDIRECT_URI with `code` and this `state`.
 */
export function buildAuthorizeUrl(params: { state: string; codeChallenge: string }): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: OAUTH_CLIENT_ID,
    redirect_uri: OAUTH_REDIRECT_URI,
    scope: OAUTH_SCOPE,
    code_challenge: params.codeChallenge,
    code_challenge_method: 'S256',
    id_token_add_organizations: 'true',
    codex_cli_simplified_flow: 'true',
    state: params.state,
    originator: CODEX_ORIGINATOR,
  });
  // %20 rather than `+` for the spaces in `scope`: every OAuth server reads it the same way.
  return `${OPENAI_AUTH_URL}/oauth/authorize?${query.toString().replaceAll('+', '%20')}`;
}

/** Codes after which the refresh token is dead: the user must sign in again. */
const PERMANENT_CODES = new Set([
  'refresh_token_expired',
  'refresh_token_reused',
  'refresh_token_invalidated',
  'invalid_grant',
]);

/** Fields of a successful answer; each is optional, and whatever is present replaces the stored value. */
export interface TokenEndpointTokens {
  accessToken?: string;
  refreshToken?: string;
  idToken?: string;
  /** `expires_in`, seconds. */
  expiresIn?: number;
}

export type TokenEndpointResult =
  | { kind: 'success'; tokens: TokenEndpointTokens }
  /** The grant is dead (401, reused/expired/invalidated token, invalid_grant): stop and reconnect. */
  | { kind: 'permanent'; status: number; code: string }
  /** Worth retrying later: 5xx, network failure, unknown codes. `status` is null without a response. */
  | { kind: 'transient'; status: number | null; code: string | null };

/** Exchanges a refresh token for new tokens. The refresh token rotates: the old one dies on success. */
export function refreshTokens(env: Env, refreshToken: string, signal?: AbortSignal): Promise<TokenEndpointResult> {
  return postTokenRequest(
    env,
    { grant_type: 'refresh_token', client_id: OAUTH_CLIENT_ID, refresh_token: refreshToken },
    signal,
  );
}

/**
 * Exchanges an authorization code (PKCE) from the onboarding flow for the first tokens. The
 * device flow passes its own redirect URI (DEVICE_REDIRECT_URI) and the server-made verifier.
 */
export function exchangeAuthorizationCode(
  env: Env,
  params: { code: string; codeVerifier: string; redirectUri?: string },
  signal?: AbortSignal,
): Promise<TokenEndpointResult> {
  return postTokenRequest(
    env,
    {
      grant_type: 'authorization_code',
      code: params.code,
      redirect_uri: params.redirectUri ?? OAUTH_REDIRECT_URI,
      client_id: OAUTH_CLIENT_ID,
      code_verifier: params.codeVerifier,
    },
    signal,
  );
}

/**
 * Sends the standard form body; retries once as JSON (what older CLIs sent) only when the
 * endpoint refuses the encoding: 415, or a 400 without any recognisable error code.
 */
async function postTokenRequest(
  env: Env,
  fields: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<TokenEndpointResult> {
  const form = await send(env, 'application/x-www-form-urlencoded', new URLSearchParams(fields).toString(), signal);
  if (!('response' in form)) return form.result;
  const refusedEncoding = form.response.status === 415 || (form.response.status === 400 && form.code === null);
  if (!refusedEncoding) return interpret(form.response.status, form.body, form.code);

  const json = await send(env, 'application/json', JSON.stringify(fields), signal);
  if (!('response' in json)) return json.result;
  return interpret(json.response.status, json.body, json.code);
}

type Sent =
  | { response: Response; body: unknown; code: string | null }
  | { result: TokenEndpointResult };

async function send(env: Env, contentType: string, body: string, signal: AbortSignal | undefined): Promise<Sent> {
  let response: Response;
  let text: string;
  try {
    response = await upstreamFetch(env, 'oauth_token', {
      method: 'POST',
      headers: { 'Content-Type': contentType, Accept: 'application/json' },
      body,
      ...(signal ? { signal } : {}),
    });
    text = await response.text();
  } catch {
    // A network failure or abort: nothing was learnt about the grant.
    return { result: { kind: 'transient', status: null, code: 'network_error' } };
  }
  const parsed = parseJsonOrNull(text);
  return { response, body: parsed, code: errorCode(parsed) };
}

function interpret(status: number, body: unknown, code: string | null): TokenEndpointResult {
  if (status >= 200 && status < 300) {
    if (!isObject(body)) return { kind: 'transient', status, code: 'invalid_response' };
    return { kind: 'success', tokens: readTokens(body) };
  }
  if (status === 401 || (code !== null && PERMANENT_CODES.has(code))) {
    return { kind: 'permanent', status, code: code ?? 'unauthorized' };
  }
  return { kind: 'transient', status, code };
}

/** The error code: `error.code`, else `error` when it is a string, else `code`. */
export function errorCode(body: unknown): string | null {
  if (!isObject(body)) return null;
  const error = body.error;
  if (isObject(error) && typeof error.code === 'string' && error.code !== '') return error.code;
  if (typeof error === 'string' && error !== '') return error;
  if (typeof body.code === 'string' && body.code !== '') return body.code;
  return null;
}

function readTokens(body: Record<string, unknown>): TokenEndpointTokens {
  const tokens: TokenEndpointTokens = {};
  if (typeof body.access_token === 'string' && body.access_token !== '') tokens.accessToken = body.access_token;
  if (typeof body.refresh_token === 'string' && body.refresh_token !== '') tokens.refreshToken = body.refresh_token;
  if (typeof body.id_token === 'string' && body.id_token !== '') tokens.idToken = body.id_token;
  if (typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0) {
    tokens.expiresIn = body.expires_in;
  }
  return tokens;
}
