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
  LOGIN_PER_REQUESTER,
  MAGIC_LINK_TTL_MS,
  SPENT_ROW_RETENTION_MS,
  appOrigin,
  showMagicLinksInPage,
  type RateRule,
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

export interface SignInInput {
  email: string;
  /** The client IP where it can be trusted (settings.ts, trustedClientIp), else null. */
  ip: string | null;
  /** This browser's id when it signed in to the (normalized) address before (returning-browser.ts). */
  returningBrowser: (email: string) => Promise<string | null>;
  now: number;
}

/**
 * Handles the /login form: validation, the rate limits, then a fresh link by mail (or in the page
 * in dev). The limits are keyed so that nobody can lock someone else out:
 * - a browser that signed in to the address before has its own allowance (LOGIN_PER_REQUESTER
 *   keyed on its id) and nothing else applies, so strangers can never block the owner there;
 * - any other request counts against its IP (LOGIN_PER_IP, across addresses), its IP's allowance
 *   for this address (LOGIN_PER_REQUESTER), and the address's mail cap (LOGIN_PER_EMAIL), which
 *   bounds the mails a flood from many IPs can send.
 */
export async function requestSignIn(env: Env, input: SignInInput): Promise<SignInRequest> {
  const email = normalizeEmail(input.email);
  if (!isValidEmail(email)) return { kind: 'invalid_email', email: input.email.trim() };

  const browserId = await input.returningBrowser(email);
  const rules: [RateRule, string][] = browserId !== null
    ? [[LOGIN_PER_REQUESTER, `${email}\nbrowser:${browserId}`]]
    : [
        // The IP rule first: a flood from one address must not use up the address's mail cap.
        ...(input.ip === null ? [] : [[LOGIN_PER_IP, input.ip] as [RateRule, string]]),
        [LOGIN_PER_REQUESTER, `${email}\nip:${input.ip ?? 'untrusted'}`],
        [LOGIN_PER_EMAIL, email],
      ];
  for (const [rule, subject] of rules) {
    const decision = await takeRateLimit(env, rule, subject, input.now);
    if (!decision.allowed) return { kind: 'rate_limited', email, resetsAt: decision.resetsAt };
  }

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
