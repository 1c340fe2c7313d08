/** @jsxImportSource hono/jsx */
/** Sign-in and sign-out: /login, /auth/verify, /logout. */
import { Hono } from 'hono';
import { readCodexTokens } from '../db/codex-tokens.ts';
import { findOrCreateUser } from '../db/users.ts';
import type { WebContext, WebEnv } from './context.ts';
import { redeemMagicLink, requestSignIn, tokenFromPastedLink, VERIFY_PATH } from './magic-links.ts';
import { page, render } from './middleware.ts';
import { endSession, startSession } from './session.ts';
import { rememberSignIn, returningBrowserId } from './returning-browser.ts';
import { MAGIC_LINK_TTL_MS, trustedClientIp } from './settings.ts';
import {
  CheckInboxPage,
  LinkProblemPage,
  LoginPage,
  MailFailedPage,
  RateLimitedPage,
  VerifyPage,
  type LinkProblem,
  type LoginNotice,
} from './views/login.tsx';

export const loginRoutes = new Hono<WebEnv>();

const LOGIN_NOTICES = new Set<string>(['signed_out', 'account_deleted']);

loginRoutes.get('/', page, (c) => c.redirect(c.get('session') ? '/dashboard' : '/login', 303));

loginRoutes.get('/login', page, async (c) => {
  if (c.get('session')) return c.redirect('/dashboard', 303);
  const notice = c.req.query('notice');
  return render(c, <LoginPage csrfToken={c.get('csrfToken')} notice={notice && LOGIN_NOTICES.has(notice) ? (notice as LoginNotice) : undefined} />);
});

loginRoutes.post('/login', page, async (c) => {
  const form = await c.req.parseBody();
  const email = typeof form.email === 'string' ? form.email : '';
  const csrfToken = c.get('csrfToken');
  const outcome = await requestSignIn(c.env, {
    email,
    ip: trustedClientIp(c.env, c.req.raw.headers),
    returningBrowser: (normalized) => returningBrowserId(c, normalized),
    now: Date.now(),
  });
  switch (outcome.kind) {
    case 'invalid_email':
      return render(c, <LoginPage csrfToken={csrfToken} email={outcome.email} error="Enter an email address like name@example.com." />, 400);
    case 'rate_limited':
      c.header('Retry-After', String(Math.max(1, Math.ceil((outcome.resetsAt - Date.now()) / 1000))));
      return render(c, <RateLimitedPage csrfToken={csrfToken} resetsAt={outcome.resetsAt} />, 429);
    case 'mail_failed':
      return render(c, <MailFailedPage csrfToken={csrfToken} email={outcome.email} configured={outcome.reason !== 'not_configured'} />,
        outcome.reason === 'not_configured' ? 503 : 502);
    case 'sent':
    case 'shown':
      return render(c, <CheckInboxPage csrfToken={csrfToken} email={outcome.email} ttlMinutes={MAGIC_LINK_TTL_MS / 60_000}
        devLink={outcome.kind === 'shown' ? outcome.link : undefined} />);
  }
});

function problemPage(c: WebContext, problem: LinkProblem): Promise<Response> {
  return render(c, <LinkProblemPage csrfToken={c.get('csrfToken')} problem={problem} />, problem.kind === 'unknown' ? 400 : 410);
}

/**
 * Opening the link only shows a button: mail scanners that follow links must not spend it.
 * The token is in the link's fragment, so this request never carries it (see magicLinkFor).
 */
loginRoutes.get(VERIFY_PATH, page, (c) => render(c, <VerifyPage csrfToken={c.get('csrfToken')} />));

loginRoutes.post(VERIFY_PATH, page, async (c) => {
  const form = await c.req.parseBody();
  const token = typeof form.token === 'string' && form.token !== ''
    ? form.token
    : tokenFromPastedLink(typeof form.link === 'string' ? form.link : '');
  const now = Date.now();
  const state = await redeemMagicLink(c.env, token, now);
  if (state.kind !== 'valid') return problemPage(c, state);
  const user = await findOrCreateUser(c.env.DB, state.email, null, now);
  await startSession(c, user.id, now);
  await rememberSignIn(c, state.email);
  console.log(JSON.stringify({ event: 'signed_in', userId: user.id, newAccount: user.created_at === now }));
  const linked = await readCodexTokens(c.env.DB, user.id);
  return c.redirect(linked ? '/dashboard?notice=welcome' : '/onboarding', 303);
});

loginRoutes.post('/logout', page, async (c) => {
  await endSession(c);
  return c.redirect('/login?notice=signed_out', 303);
});
