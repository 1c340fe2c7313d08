/**
 * Unsigned-but-well-formed JWTs shaped like the ones auth.openai.com issues (the signature is junk:
 * consumers only decode the payload).
 */
import { randomBytes, randomUUID } from 'node:crypto';

export const ISSUER = 'https://auth.openai.com';
const AUTH_CLAIM = 'https://api.openai.com/auth';
const PROFILE_CLAIM = 'https://api.openai.com/profile';

export type Identity = { accountId: string; userId: string; email: string; planType: string };

export function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function encode(payload: Record<string, unknown>): string {
  const header = { alg: 'RS256', typ: 'JWT', kid: 'fake-codex' };
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.${base64url(randomBytes(32))}`;
}

function identityClaims(who: Identity): Record<string, unknown> {
  return {
    email: who.email,
    [PROFILE_CLAIM]: { email: who.email, email_verified: true },
    [AUTH_CLAIM]: {
      chatgpt_account_id: who.accountId,
      chatgpt_plan_type: who.planType,
      chatgpt_user_id: who.userId,
      user_id: who.userId,
    },
  };
}

/** Access token; `exp` = now + ttl (ttl may be negative). */
export function mintAccessToken(who: Identity, ttlSeconds: number, clientId: string): { token: string; exp: number } {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + ttlSeconds;
  const token = encode({
    iss: ISSUER,
    aud: ['https://api.openai.com/v1'],
    sub: who.userId,
    client_id: clientId,
    iat,
    nbf: iat,
    exp,
    jti: randomUUID(),
    scp: ['openid', 'profile', 'email', 'offline_access'],
    ...identityClaims(who),
  });
  return { token, exp };
}

/** ID token: audience is the client, valid for an hour, same identity claims. */
export function mintIdToken(who: Identity, clientId: string): string {
  const iat = Math.floor(Date.now() / 1000);
  return encode({
    iss: ISSUER,
    aud: [clientId],
    sub: who.userId,
    iat,
    exp: iat + 3600,
    auth_time: iat,
    email_verified: true,
    ...identityClaims(who),
  });
}

/** Reads a JWT payload without verifying it (the fake trusts its own bookkeeping, not signatures). */
export function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (part === undefined) return null;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}
