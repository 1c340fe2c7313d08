/**
 * `POST /oauth/token`: the refresh grant with real rotation and scriptable failures, and the
 * authorization-code grant with PKCE S256.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { mediaType, readBody, sleep, type Answer } from './http.ts';
import type { FakeCodexState } from './state.ts';
import { FAKE_CLIENT_ID, type TokenSet, type TokenStep } from './types.ts';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/** OpenAI-style error object, the shape auth.openai.com uses for refresh failures. */
function openaiError(status: number, code: string | null, message: string, param: string | null = null): Answer {
  return { status, body: { error: { message, type: 'invalid_request_error', param, code } } };
}

/** RFC 6749 error shape (`error` is a string), which some failures use instead. */
function oauthError(status: number, error: string, description: string): Answer {
  return { status, body: { error, error_description: description } };
}

export const REFRESH_TOKEN_REUSED = openaiError(
  401,
  'refresh_token_reused',
  'Your refresh token has already been used to generate a new access token. Please try signing in again.',
);

const STEP_FAILURES: Record<Exclude<TokenStep['kind'], 'ok' | 'server_error'>, Answer> = {
  reused: REFRESH_TOKEN_REUSED,
  expired: openaiError(401, 'refresh_token_expired', 'Your refresh token has expired. Please try signing in again.'),
  invalidated: openaiError(
    401,
    'refresh_token_invalidated',
    'Your refresh token has been invalidated. Please try signing in again.',
  ),
  invalid_grant: oauthError(400, 'invalid_grant', 'The refresh token is invalid or has been revoked.'),
  unauthorized: { status: 401, body: 'Unauthorized' },
  unsupported_media_type: openaiError(415, 'unsupported_media_type', 'Unsupported Media Type'),
};

function serverError(status: 500 | 502 | 503): Answer {
  if (status === 500) {
    return { status, body: { error: { message: 'Internal server error', type: 'server_error', param: null, code: null } } };
  }
  const title = status === 502 ? 'Bad Gateway' : 'Service Unavailable';
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<html><head><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1></body></html>`,
  };
}

function tokenResponse(tokens: TokenSet, ttlSeconds: number): Answer {
  return {
    status: 200,
    headers: { 'cache-control': 'no-store' },
    body: {
      id_token: tokens.id_token,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      token_type: 'Bearer',
      expires_in: ttlSeconds,
      scope: 'openid profile email offline_access',
    },
  };
}

type Parsed = { fields: Record<string, string> } | { refused: Answer };

async function parseFields(req: IncomingMessage, type: string | null): Promise<Parsed> {
  const raw = (await readBody(req)).toString('utf8');
  // Form is the default encoding: a body without a content type is read as a form.
  if (type === FORM || type === null) return { fields: Object.fromEntries(new URLSearchParams(raw)) };
  if (type !== JSON_TYPE) return { refused: STEP_FAILURES.unsupported_media_type };
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return { fields: Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)])) };
  } catch {
    return { refused: openaiError(400, 'invalid_request', 'Request body is not valid JSON.') };
  }
}

export async function handleToken(state: FakeCodexState, req: IncomingMessage): Promise<Answer> {
  const type = mediaType(req);
  const parsed = await parseFields(req, type);
  if ('refused' in parsed) return parsed.refused;
  const f = parsed.fields;
  if (f.client_id !== FAKE_CLIENT_ID) return openaiError(400, 'invalid_client', 'Unknown client_id.', 'client_id');
  if (f.grant_type === 'refresh_token') return refresh(state, f, type);
  if (f.grant_type === 'authorization_code') return exchangeCode(state, f);
  return oauthError(400, 'unsupported_grant_type', `grant_type ${f.grant_type ?? '(missing)'} is not supported.`);
}

async function refresh(state: FakeCodexState, f: Record<string, string>, type: string | null): Promise<Answer> {
  const presented = f.refresh_token ?? '';
  const known = state.lookupRefreshToken(presented);
  if (!known) return oauthError(400, 'invalid_grant', 'Unknown refresh token.');
  const step = state.beginRefresh(known.family, type);
  if (step.delayMs) await sleep(step.delayMs);
  if (step.kind === 'server_error') return serverError(step.status ?? 500);
  if (step.kind !== 'ok') return STEP_FAILURES[step.kind];
  // Re-checked after the delay: of two concurrent refreshes with one token, only the first to finish wins.
  if (state.lookupRefreshToken(presented)?.current !== true) return REFRESH_TOKEN_REUSED;
  return tokenResponse(state.issueTokens(known.family), state.familyTtl(known.family));
}

function exchangeCode(state: FakeCodexState, f: Record<string, string>): Answer {
  const entry = state.redeemCode(f.code ?? '');
  if (!entry) return oauthError(400, 'invalid_grant', 'The authorization code is invalid, expired or already used.');
  if (entry.redirectUri !== undefined && f.redirect_uri !== entry.redirectUri) {
    return oauthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request.');
  }
  if (entry.codeChallenge !== undefined) {
    const verifier = f.code_verifier ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (verifier === '' || challenge !== entry.codeChallenge) {
      return oauthError(400, 'invalid_grant', 'PKCE verification failed (code_verifier does not match code_challenge).');
    }
  }
  return tokenResponse(state.issueTokens(entry.family), state.familyTtl(entry.family));
}
