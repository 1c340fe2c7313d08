/**
 * Magic-link sign-in: issuing a link (rate-limited, mailed or shown in dev), inspecting it, and
 * redeeming it exactly once. The answer to a request never depends on whether the email
 * already has an account: the account is created only when a link is redeemed.
 */
import { findMagicLink, insertMagicLink, redeemMagicLink as redeemRow } from '../db/magic-links.ts';
import { isValidEmail, normalizeEmail } from '../shared/email.ts';
import { MailError, sendMail } from './mail.ts';
import { magicLinkMail } from './mail-templates.ts';
import { takeRateLimit } from './rate-limit.ts';
import { hashSecret, isSecretShaped, newSecret } from './secrets.ts';
import {
  LOGIN_PER_EMAIL,
  LOGIN_PER_IP,
  MAGIC_LINK_TTL_MS,
  SPENT_ROW_RETENTION_MS,
  appOrigin,
  showMagicLinksInPage,
} from './settings.ts';

export const VERIFY_PATH = '/auth/verify';

export type SignInRequest =
  | { kind: 'invalid_email'; email: string }
  | { kind: 'rate_limited'; email: string; resetsAt: number }
  /** Mailed. */
  | { kind: 'sent'; email: string }
  /** DEV_RETURN_MAGIC_LINK on a loopback origin: the link is shown instead of mailed. */
  | { kind: 'shown'; email: string; link: string }
  | { kind: 'mail_failed'; email: string; reason: MailError['reason'] };

/** Handles the /login form: validation, both rate limits, then a fresh link by mail (or in the page in dev). */
export async function requestSignIn(env: Env, input: { email: string; ip: string; now: number }): Promise<SignInRequest> {
  const email = normalizeEmail(input.email);
  if (!isValidEmail(email)) return { kind: 'invalid_email', email: input.email.trim() };

  // The IP rule first: a flood from one address must not use up a victim's per-email allowance.
  const byIp = await takeRateLimit(env, LOGIN_PER_IP, input.ip, input.now);
  if (!byIp.allowed) return { kind: 'rate_limited', email, resetsAt: byIp.resetsAt };
  const byEmail = await takeRateLimit(env, LOGIN_PER_EMAIL, email, input.now);
  if (!byEmail.allowed) return { kind: 'rate_limited', email, resetsAt: byEmail.resetsAt };

  const token = newSecret();
  const tokenHash = await hashSecret(token);
  const expiresAt = input.now + MAGIC_LINK_TTL_MS;
  await insertMagicLink(env.DB, { tokenHash, email, now: input.now, expiresAt }, input.now - SPENT_ROW_RETENTION_MS);
  const link = magicLinkFor(appOrigin(env), token);

  if (showMagicLinksInPage(env)) return { kind: 'shown', email, link };
  try {
    await sendMail(env, { ...magicLinkMail({ link, origin: appOrigin(env), ttlMinutes: MAGIC_LINK_TTL_MS / 60_000 }), to: email,
      idempotencyKey: `magic-link/${tokenHash.slice(0, 32)}` });
  } catch (err) {
    if (!(err instanceof MailError)) throw err;
    console.error(JSON.stringify({ event: 'magic_link_mail_failed', reason: err.reason, error: err.message }));
    return { kind: 'mail_failed', email, reason: err.reason };
  }
  return { kind: 'sent', email };
}

/**
 * The token travels in the URL fragment, which browsers never send: request logs (wrangler's,
 * Workers Logs) see only `/auth/verify`. The page's script moves it into the form.
 */
export function magicLinkFor(origin: string, token: string): string {
  return `${origin}${VERIFY_PATH}#token=${token}`;
}

/** The token in a sign-in link pasted into the form (for browsers without JavaScript), or ''. */
export function tokenFromPastedLink(text: string): string {
  const match = /[#?&]token=([A-Za-z0-9_-]+)/.exec(text.trim());
  return match?.[1] ?? '';
}

export type LinkState =
  | { kind: 'valid'; email: string }
  | { kind: 'unknown' }
  | { kind: 'expired'; email: string }
  | { kind: 'used'; email: string };

/** What a token from a link is, without spending it (mail scanners open links too). */
async function inspectMagicLink(env: Pick<Env, 'DB'>, token: string, now: number): Promise<LinkState> {
  if (!isSecretShaped(token)) return { kind: 'unknown' };
  const row = await findMagicLink(env.DB, await hashSecret(token));
  if (!row) return { kind: 'unknown' };
  if (row.used_at !== null) return { kind: 'used', email: row.email };
  if (row.expires_at <= now) return { kind: 'expired', email: row.email };
  return { kind: 'valid', email: row.email };
}

/** Spends the link: `valid` for exactly one caller, otherwise why not. */
export async function redeemMagicLink(env: Pick<Env, 'DB'>, token: string, now: number): Promise<LinkState> {
  if (!isSecretShaped(token)) return { kind: 'unknown' };
  const email = await redeemRow(env.DB, await hashSecret(token), now);
  if (email !== null) return { kind: 'valid', email };
  const state = await inspectMagicLink(env, token, now);
  // Lost a race against a redemption that has just committed: report it as used.
  return state.kind === 'valid' ? { kind: 'used', email: state.email } : state;
}
