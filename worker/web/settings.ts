/**
 * Lifetimes, limits and the environment-derived settings of the web pages, in one place.
 */

export const MAGIC_LINK_TTL_MS = 15 * 60_000;
export const SESSION_TTL_MS = 30 * 24 * 60 * 60_000;
export const OAUTH_STATE_TTL_MS = 15 * 60_000;
/** Every /onboarding visit starts a ChatGPT sign-in; a user keeps only this many (a few open tabs). */
export const MAX_OAUTH_STATES_PER_USER = 5;
/** How long used and expired links and states are kept (one definition, shared with the cron's purges). */
export { SPENT_ROW_RETENTION_MS } from '../db/purge.ts';
/** A user may hold this many active proxy keys. */
export const MAX_ACTIVE_KEYS = 25;
export const KEY_NAME_MAX_LENGTH = 64;
/** A new key waits this long, encrypted, for the page load after the create-key redirect. */
export const KEY_FLASH_TTL_MS = 5 * 60_000;

export interface RateRule {
  /** Part of the bucket name; changing it starts fresh counters. */
  name: string;
  max: number;
  windowMs: number;
}

/**
 * Sign-in links one requester may ask for one address: enough for a typo or a slow inbox. The
 * requester is the browser when it signed in to that address before, else the client IP, so
 * strangers use up only their own allowance and can never lock the owner out.
 */
export const LOGIN_PER_REQUESTER: RateRule = { name: 'login-requester', max: 5, windowMs: 15 * 60_000 };
/**
 * Sign-in mails one address may receive in an hour for browsers it has not signed in from: the
 * flood cap, whatever the number of requesters. Browsers it signed in from are not counted.
 */
export const LOGIN_PER_EMAIL: RateRule = { name: 'login-email', max: 10, windowMs: 60 * 60_000 };
/** Sign-in requests from one IP, across addresses (an office may share one). */
export const LOGIN_PER_IP: RateRule = { name: 'login-ip', max: 30, windowMs: 60 * 60_000 };
/** How long a browser stays recognised for the address it signed in to (refreshed at each sign-in). */
export const RETURNING_BROWSER_MAX_AGE_S = 180 * 24 * 60 * 60;

const DEFAULT_ORIGIN = 'https://usemysub.com';

/** PUBLIC_APP_ORIGIN without a trailing slash, or the production origin when unset or unusable. */
export function appOrigin(env: Pick<Env, 'PUBLIC_APP_ORIGIN'>): string {
  const raw = (env.PUBLIC_APP_ORIGIN ?? '').trim();
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.origin;
  } catch {
    // Falls through to the default.
  }
  return DEFAULT_ORIGIN;
}

/** True for http://localhost, http://127.0.0.1 and http://[::1] (any port): local development only. */
export function isLoopbackHttpOrigin(origin: string): boolean {
  const url = new URL(origin);
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/**
 * Whether cookies may drop `Secure` and the `__Host-` prefix: only when the app itself is
 * served over plain http on loopback, where browsers would otherwise refuse them.
 */
export function insecureLocalCookies(env: Pick<Env, 'PUBLIC_APP_ORIGIN'>): boolean {
  return isLoopbackHttpOrigin(appOrigin(env));
}

/**
 * The client's IP, only where it can be believed: a Worker on its public origin is reached only
 * through Cloudflare's edge, which sets CF-Connecting-IP itself and overwrites any the client sent.
 * On a loopback origin (wrangler dev, npm start) the client's own header is passed through, so it
 * is not trusted and null comes back.
 */
export function trustedClientIp(env: Pick<Env, 'PUBLIC_APP_ORIGIN'>, headers: Headers): string | null {
  if (isLoopbackHttpOrigin(appOrigin(env))) return null;
  return headers.get('cf-connecting-ip');
}

let warnedDevLinks = false;

/**
 * DEV_RETURN_MAGIC_LINK shows sign-in links in the page, which lets anyone sign in as anyone:
 * honoured only when the app runs on a loopback origin, so a stray setting in production is inert.
 */
export function showMagicLinksInPage(env: Pick<Env, 'PUBLIC_APP_ORIGIN' | 'DEV_RETURN_MAGIC_LINK'>): boolean {
  if (env.DEV_RETURN_MAGIC_LINK !== 'true') return false;
  if (isLoopbackHttpOrigin(appOrigin(env))) return true;
  if (!warnedDevLinks) {
    warnedDevLinks = true;
    console.warn(JSON.stringify({ event: 'dev_magic_links_ignored', reason: 'PUBLIC_APP_ORIGIN is not a loopback http origin' }));
  }
  return false;
}
