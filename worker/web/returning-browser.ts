/**
 * "This browser has signed in to this address before": a cookie set when a sign-in link is
 * redeemed, which lets the owner ask for a new link even while strangers flood the address
 * (magic-links.ts). It holds a random browser id and an HMAC (API_KEY_PEPPER) binding that id to
 * the address, so it names no address, vouches for one address only, and is nothing stored.
 */
import { constantTimeEqual, pepperedHmac } from '../accounts/crypto.ts';
import { setCookie } from 'hono/cookie';
import type { WebContext } from './context.ts';
import { isSecretShaped, newSecret } from './secrets.ts';
import { cookieOptions, readCookie } from './session.ts';
import { RETURNING_BROWSER_MAX_AGE_S } from './settings.ts';

const RETURNING_BROWSER_COOKIE = 'usemysub_signin';

function tagFor(pepper: string | undefined, browserId: string, email: string): Promise<string> {
  return pepperedHmac(pepper, `usemysub:returning-browser:v1:${browserId}:${email}`);
}

/** Marks this browser as one that signed in to `email` (normalized), keeping its id if it has one. */
export async function rememberSignIn(c: WebContext, email: string): Promise<void> {
  const current = readCookie(c, RETURNING_BROWSER_COOKIE)?.split('.')[0];
  const browserId = current !== undefined && isSecretShaped(current) ? current : newSecret();
  const value = `${browserId}.${await tagFor(c.env.API_KEY_PEPPER, browserId, email)}`;
  setCookie(c, RETURNING_BROWSER_COOKIE, value, cookieOptions(c, RETURNING_BROWSER_MAX_AGE_S));
}

/** This browser's id when it signed in to `email` (normalized) before, else null. */
export async function returningBrowserId(c: WebContext, email: string): Promise<string | null> {
  const [browserId, tag, ...rest] = (readCookie(c, RETURNING_BROWSER_COOKIE) ?? '').split('.');
  if (browserId === undefined || tag === undefined || rest.length > 0 || !isSecretShaped(browserId)) return null;
  return constantTimeEqual(tag, await tagFor(c.env.API_KEY_PEPPER, browserId, email)) ? browserId : null;
}
