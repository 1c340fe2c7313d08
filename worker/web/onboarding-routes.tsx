/** @jsxImportSource hono/jsx */
/** /onboarding: connect a ChatGPT account by OAuth (pasted callback address) or an auth.json. */
import { Hono } from 'hono';
import { readCodexTokens } from '../db/codex-tokens.ts';
import type { WebContext, WebEnv } from './context.ts';
import { member, render } from './middleware.ts';
import { currentSession } from './session.ts';
import { completeAuthorization, connectWithAuthFile, startAuthorization, type ConnectFailure, type ConnectResult } from './onboarding.ts';
import { OnboardingPage } from './views/onboarding.tsx';

export const onboardingRoutes = new Hono<WebEnv>();

/** Largest auth.json accepted (real ones are a few kilobytes). */
const MAX_AUTH_FILE_BYTES = 32 * 1024;

/** The page, always with a fresh sign-in link (the previous one may be spent or expired). */
async function showPage(c: WebContext, failure?: { failure: ConnectFailure; from: 'callback' | 'auth_file' }, pasted?: string): Promise<Response> {
  const session = currentSession(c);
  const now = Date.now();
  const [authorizeUrl, link] = await Promise.all([startAuthorization(c.env, session.userId, now), readCodexTokens(c.env.DB, session.userId)]);
  return render(c, <OnboardingPage session={session} csrfToken={c.get('csrfToken')} authorizeUrl={authorizeUrl} link={link} failure={failure} pasted={pasted} />,
    failure ? statusFor(failure.failure) : 200);
}

function statusFor(failure: ConnectFailure): 400 | 409 | 502 {
  if (failure.kind === 'account_taken') return 409;
  return failure.kind === 'exchange_unavailable' ? 502 : 400;
}

function finish(c: WebContext, result: ConnectResult, from: 'callback' | 'auth_file', pasted?: string): Promise<Response> | Response {
  if (result.ok) return c.redirect('/dashboard?notice=connected', 303);
  return showPage(c, { failure: result.failure, from }, pasted);
}

onboardingRoutes.get('/onboarding', member, (c) => showPage(c));

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
