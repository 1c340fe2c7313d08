/**
 * Browser sessions and CSRF protection. The session cookie holds a random id whose SHA-256 is
 * the `sessions` row key. Signed-out browsers get a pre-session cookie instead, so the sign-in
 * forms carry a CSRF token too. Cookies are `__Host-`, HttpOnly, Secure, SameSite=Lax; prefix
 * and Secure are dropped only when the app runs on http://localhost for development.
 */
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { csrf } from 'hono/csrf';
import { constantTimeEqual } from '../accounts/crypto.ts';
import { deleteSession, findSessionUser, insertSession } from '../db/sessions.ts';
import type { WebContext, WebEnv, WebSession } from './context.ts';
import { csrfTokenFor, hashSecret, isSecretShaped, newSecret } from './secrets.ts';
import { SESSION_TTL_MS, insecureLocalCookies } from './settings.ts';

const SESSION_COOKIE = 'usemysub_session';
const PRE_SESSION_COOKIE = 'usemysub_presession';
/** Pre-session cookies last a day: long enough to fill in a form, short enough not to linger. */
const PRE_SESSION_MAX_AGE_S = 24 * 60 * 60;

type CookieOptions = Parameters<typeof setCookie>[3] & {};

/** The attributes of every cookie the pages set (also used by returning-browser.ts). */
export function cookieOptions(c: WebContext, maxAgeSeconds: number): CookieOptions {
  const base: CookieOptions = { path: '/', httpOnly: true, sameSite: 'Lax', maxAge: maxAgeSeconds };
  return insecureLocalCookies(c.env) ? base : { ...base, secure: true, prefix: 'host' };
}

/** Sets a cookie of this app (`__Host-`, HttpOnly, Secure, SameSite=Lax, as the session's). */
export function setBrowserCookie(c: WebContext, name: string, value: string, maxAgeSeconds: number): void {
  setCookie(c, name, value, cookieOptions(c, maxAgeSeconds));
}

export function readCookie(c: WebContext, name: string): string | undefined {
  return insecureLocalCookies(c.env) ? getCookie(c, name) : getCookie(c, name, 'host');
}

export function clearCookie(c: WebContext, name: string): void {
  deleteCookie(c, name, cookieOptions(c, 0));
}

/** Starts a session for `userId` (after a magic link was redeemed) and sets its cookie. */
export async function startSession(c: WebContext, userId: string, now: number): Promise<void> {
  const previous = c.get('session');
  if (previous) await deleteSession(c.env.DB, previous.idHash);
  const secret = newSecret();
  await insertSession(c.env.DB, { idHash: await hashSecret(secret), userId, now, expiresAt: now + SESSION_TTL_MS });
  setCookie(c, SESSION_COOKIE, secret, cookieOptions(c, SESSION_TTL_MS / 1000));
}

/** Signs the browser out: deletes the session row and the cookie. */
export async function endSession(c: WebContext): Promise<void> {
  const session = c.get('session');
  if (session) await deleteSession(c.env.DB, session.idHash);
  clearCookie(c, SESSION_COOKIE);
  c.set('session', null);
}

/** Forgets the cookie only (the account and its sessions are already gone). */
export function dropSessionCookie(c: WebContext): void {
  clearCookie(c, SESSION_COOKIE);
  c.set('session', null);
}

// Browsers send Origin (or Sec-Fetch-Site) with every form post; a post from another site is
// refused before the token is even read. The token below is the primary defence.
const sameOriginPosts = csrf();

/**
 * Loads the session, works out this browser's CSRF token (from the session id, else from a
 * pre-session cookie created on first visit), and rejects state-changing requests whose
 * `csrf` form field does not match it.
 */
export const browser = createMiddleware<WebEnv>(async (c, next) => {
  const now = Date.now();
  let secret: string | null = null;
  c.set('session', null);

  const sessionId = readCookie(c, SESSION_COOKIE);
  if (sessionId !== undefined && isSecretShaped(sessionId)) {
    const idHash = await hashSecret(sessionId);
    const row = await findSessionUser(c.env.DB, idHash, now);
    if (row) {
      c.set('session', { userId: row.user_id, email: row.email, idHash });
      secret = sessionId;
    }
  }
  if (sessionId !== undefined && secret === null) clearCookie(c, SESSION_COOKIE);

  if (secret === null) {
    const pre = readCookie(c, PRE_SESSION_COOKIE);
    if (pre !== undefined && isSecretShaped(pre)) {
      secret = pre;
    } else if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      secret = newSecret();
      setCookie(c, PRE_SESSION_COOKIE, secret, cookieOptions(c, PRE_SESSION_MAX_AGE_S));
    }
  }
  c.set('csrfToken', secret === null ? '' : await csrfTokenFor(secret));

  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    await sameOriginPosts(c, async () => {});
    const form = await c.req.parseBody();
    const sent = typeof form.csrf === 'string' ? form.csrf : '';
    if (secret === null || sent === '' || !constantTimeEqual(sent, c.get('csrfToken'))) {
      throw new HTTPException(403, { message: 'csrf_token_mismatch' });
    }
  }
  await next();
});

/** The session of a route behind `signedIn` (which guarantees there is one). */
export function currentSession(c: WebContext): WebSession {
  const session = c.get('session');
  if (!session) throw new Error('signed-in route reached without a session');
  return session;
}

/** Pages for signed-in users: others are sent to /login. */
export const signedIn = createMiddleware<WebEnv>(async (c, next) => {
  if (c.get('session')) return next();
  return c.redirect('/login', 303);
});
