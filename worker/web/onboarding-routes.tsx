/** @jsxImportSource hono/jsx */
/** /onboarding: connect a ChatGPT account by device code, OAuth (pasted callback address) or an auth.json. */
import { Hono } from 'hono';
import { readCodexTokens } from '../db/codex-tokens.ts';
import type { WebContext, WebEnv } from './context.ts';
import { member, render } from './middleware.ts';
import { clearCookie, currentSession, readCookie, setBrowserCookie } from './session.ts';
import { pollDeviceLogin, startDeviceLogin, viewDeviceLogin, type DevicePoll } from './device-login.ts';
import { DEVICE_CODE_TTL_MS } from '../upstream/device-auth.ts';
import { completeAuthorization, connectWithAuthFile, startAuthorization, type ConnectFailure, type ConnectResult } from './onboarding.ts';
import { OnboardingPage, type OnboardingForm } from './views/onboarding.tsx';

export const onboardingRoutes = new Hono<WebEnv>();

/** Largest auth.json accepted (real ones are a few kilobytes). */
const MAX_AUTH_FILE_BYTES = 32 * 1024;

/** The browser's device-code sign-in: a random id whose hash keys its device_logins row. */
const DEVICE_COOKIE = 'usemysub_device';

/**
 * The page, always with a fresh sign-in link (the previous one may be spent or expired), and
 * the device-code sign-in this browser has under way. A device sign-in that ended without a
 * link is reported once, and its cookie dropped.
 */
async function showPage(c: WebContext, failure?: { failure: ConnectFailure; from: OnboardingForm }, pasted?: string): Promise<Response> {
  const session = currentSession(c);
  const now = Date.now();
  const loginId = readCookie(c, DEVICE_COOKIE);
  const [authorizeUrl, link, device] = await Promise.all([
    startAuthorization(c.env, session.userId, now),
    readCodexTokens(c.env.DB, session.userId),
    loginId === undefined ? null : viewDeviceLogin(c.env, session.userId, loginId, now),
  ]);
  if (loginId !== undefined && device?.state !== 'pending' && device?.state !== 'finishing') clearCookie(c, DEVICE_COOKIE);
  if (!failure && device?.state === 'failed') failure = { failure: device.failure, from: 'device' };
  return render(c, <OnboardingPage session={session} csrfToken={c.get('csrfToken')} authorizeUrl={authorizeUrl} link={link}
    failure={failure} pasted={pasted} device={device} deviceWaiting={c.req.query('device') === 'waiting'} />,
    failure ? statusFor(failure.failure) : 200);
}

function statusFor(failure: ConnectFailure): 400 | 409 | 502 {
  if (failure.kind === 'account_taken') return 409;
  return failure.kind === 'exchange_unavailable' || failure.kind === 'device_unavailable' || failure.kind === 'device_disabled' ? 502 : 400;
}

function finish(c: WebContext, result: ConnectResult, from: 'callback' | 'auth_file', pasted?: string): Promise<Response> | Response {
  if (result.ok) return c.redirect('/dashboard?notice=connected', 303);
  return showPage(c, { failure: result.failure, from }, pasted);
}

onboardingRoutes.get('/onboarding', member, (c) => showPage(c));

onboardingRoutes.post('/onboarding/device', member, async (c) => {
  const started = await startDeviceLogin(c.env, currentSession(c).userId, Date.now());
  if (!started.ok) return showPage(c, { failure: started.failure, from: 'device' });
  setBrowserCookie(c, DEVICE_COOKIE, started.loginId, DEVICE_CODE_TTL_MS / 1000);
  return c.redirect('/onboarding', 303);
});

/**
 * One poll. The page's script asks for JSON and follows `redirect` when there is one; the
 * no-script button gets a redirect: the dashboard once connected, else back to /onboarding.
 */
onboardingRoutes.post('/onboarding/device/poll', member, async (c) => {
  const loginId = readCookie(c, DEVICE_COOKIE);
  const poll = loginId === undefined ? null : await pollDeviceLogin(c.env, currentSession(c).userId, loginId, Date.now());
  const wantsJson = (c.req.header('Accept') ?? '').includes('application/json');
  const next = redirectFor(poll);
  if (poll?.state === 'connected') clearCookie(c, DEVICE_COOKIE);
  if (wantsJson) {
    return c.json({ state: poll?.state ?? 'failed', ...(next ? { redirect: next } : { retryAfterMs: poll?.retryAfterMs ?? 1000 }) });
  }
  return c.redirect(next ?? '/onboarding?device=waiting', 303);
});

/** Where the page goes after a poll; null while the user has still to approve. */
function redirectFor(poll: DevicePoll | null): string | null {
  if (poll === null || poll.state === 'failed') return '/onboarding';
  if (poll.state === 'connected') return '/dashboard?notice=connected';
  return null;
}

onboardingRoutes.post('/onboarding/callback', member, async (c) => {
  const form = await c.req.parseBody();
  const pasted = typeof form.callback_url === 'string' ? form.callback_url : '';
  const result = await completeAuthorization(c.env, currentSession(c).userId, pasted, Date.now());
  // The paste is shown again so the user sees what was read; its code is useless without our verifier.
  return finish(c, result, 'callback', result.ok ? undefined : pasted.slice(0, 2048));
});

onboardingRoutes.post('/onboarding/auth-json', member, async (c) => {
  const form = await c.req.parseBody();
  let text = typeof form.auth_json === 'string' ? form.auth_json.trim() : '';
  const file = form.auth_file;
  if (text === '' && file instanceof File && file.size > 0) {
    if (file.size > MAX_AUTH_FILE_BYTES) {
      return showPage(c, { failure: { kind: 'auth_file', message: 'That file is too large to be a Codex auth.json.' }, from: 'auth_file' });
    }
    text = await file.text();
  }
  if (text === '') {
    return showPage(c, { failure: { kind: 'auth_file', message: 'Paste the contents of auth.json or choose the file.' }, from: 'auth_file' });
  }
  return finish(c, await connectWithAuthFile(c.env, currentSession(c).userId, text, Date.now()), 'auth_file');
});
