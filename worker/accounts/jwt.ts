/**
 * Reads claims from the ChatGPT id and access tokens (CODEX-PROTOCOL §1). Decodes only, never
 * verifies: the tokens came from the token endpoint or the user's own auth.json, and the
 * backend verifies them on use. Garbage gives null fields, never an error carrying the token.
 * Web APIs only: scripts/provision.ts imports this module from Node too.
 */
import { isObject } from '../shared/json.ts';
import { base64UrlToBytes, utf8Decode } from '../shared/encoding.ts';

const AUTH_CLAIM = 'https://api.openai.com/auth';
const PROFILE_CLAIM = 'https://api.openai.com/profile';

export interface TokenClaims {
  email: string | null;
  /** `chatgpt_account_id`, sent upstream as ChatGPT-Account-ID. */
  accountId: string | null;
  /** `chatgpt_plan_type`: free, plus, pro, team, … */
  planType: string | null;
  chatgptUserId: string | null;
  /** The access token's `exp`, in epoch ms. */
  expiresAt: number | null;
}

/** The payload object of a JWT, or null when `token` is not a decodable JWT. */
export function decodeJwtPayload(token: string | null | undefined): Record<string, unknown> | null {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const payload: unknown = JSON.parse(utf8Decode(base64UrlToBytes(parts[1])));
    return isObject(payload) ? payload : null;
  } catch {
    return null;
  }
}

/**
 * The claims UseMySub uses. Identity claims come from the id token first, then the access
 * token; the expiry only from the access token.
 */
export function readTokenClaims(idToken: string | null | undefined, accessToken: string | null | undefined): TokenClaims {
  const payloads = [decodeJwtPayload(idToken), decodeJwtPayload(accessToken)].filter((p) => p !== null);
  const access = decodeJwtPayload(accessToken);
  const first = (read: (payload: Record<string, unknown>) => unknown): string | null => {
    for (const payload of payloads) {
      const value = read(payload);
      if (typeof value === 'string' && value !== '') return value;
    }
    return null;
  };
  const exp = access?.exp;
  return {
    email: first((p) => p.email) ?? first((p) => objectAt(p, PROFILE_CLAIM)?.email),
    accountId: first((p) => objectAt(p, AUTH_CLAIM)?.chatgpt_account_id),
    planType: first((p) => objectAt(p, AUTH_CLAIM)?.chatgpt_plan_type),
    chatgptUserId: first((p) => objectAt(p, AUTH_CLAIM)?.chatgpt_user_id ?? objectAt(p, AUTH_CLAIM)?.user_id),
    expiresAt: typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? Math.round(exp * 1000) : null,
  };
}

function objectAt(payload: Record<string, unknown>, claim: string): Record<string, unknown> | null {
  const value = payload[claim];
  return isObject(value) ? value : null;
}
