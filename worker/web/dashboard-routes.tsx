/** @jsxImportSource hono/jsx */
/** /dashboard (keys, status, usage) and /account/delete. */
import { Hono } from 'hono';
import { deleteAccount } from '../db/accounts.ts';
import { listApiKeys } from '../db/api-keys.ts';
import { readCodexTokens } from '../db/codex-tokens.ts';
import { normalizeEmail } from '../shared/email.ts';
import type { WebContext, WebEnv } from './context.ts';
import { createNamedKey, flashNewKey, loadDashboard, takeNewKey } from './dashboard.ts';
import { checkClaudeModelsForm, loadClaudeModels } from './claude-models.ts';
import type { ClaudeModelsProps } from './views/claude-models.tsx';
import { member, render } from './middleware.ts';
import { currentSession, dropSessionCookie } from './session.ts';
import { appOrigin } from './settings.ts';
import { DashboardPage, DeleteAccountPage, RevokeKeyPage, type DashboardNotice } from './views/dashboard.tsx';
import { ErrorPage } from './views/error.tsx';

export const dashboardRoutes = new Hono<WebEnv>();

const NOTICES = new Set<string>(['connected', 'key_revoked', 'welcome', 'claude_models_saved']);

function waitUntil(c: WebContext): (promise: Promise<unknown>) => void {
  return (promise) => {
    try {
      c.executionCtx.waitUntil(promise);
    } catch {
      // No execution context (app.request() in a unit test): the promise still runs.
    }
  };
}

async function showDashboard(
  c: WebContext,
  extra: { keyForm?: { name: string; error: string }; notice?: DashboardNotice; claudeForm?: ClaudeModelsProps['form'] } = {},
  status: 200 | 400 = 200,
): Promise<Response> {
  const session = currentSession(c);
  const now = Date.now();
  const [data, claudeModels] = await Promise.all([loadDashboard(c.env, session.userId, now, waitUntil(c)), loadClaudeModels(c.env, session.userId)]);
  // Only a page that is not an error page spends the flash, so a failed post never swallows it.
  const newKey = status === 200 ? await takeNewKey(c.env, session.idHash, data.keys, now) : null;
  // The charts' filter: one of the user's own keys (anything else shows all of them) and a measure.
  const keyId = data.keys.find((key) => key.id === c.req.query('usage_key'))?.id ?? null;
  const metric = c.req.query('usage_metric') === 'requests' ? 'requests' : 'tokens';
  return render(c, <DashboardPage session={session} csrfToken={c.get('csrfToken')} origin={appOrigin(c.env)} {...data} claudeModels={claudeModels} {...extra}
    usageView={{ report: data.report, keyId, metric }} newKey={newKey ?? undefined} />, status);
}

dashboardRoutes.get('/dashboard', member, (c) => {
  const notice = c.req.query('notice');
  return showDashboard(c, notice && NOTICES.has(notice) ? { notice: notice as DashboardNotice } : {});
});

/**
 * Post/redirect/get: the new key waits encrypted in a one-time flash bound to this session
 * (never in a URL) and the redirected GET shows it once, so a reload cannot create another.
 */
dashboardRoutes.post('/dashboard/keys', member, async (c) => {
  const session = currentSession(c);
  const form = await c.req.parseBody();
  const name = typeof form.name === 'string' ? form.name : '';
  const now = Date.now();
  const created = await createNamedKey(c.env, session.userId, name, now);
  if (!created.ok) return showDashboard(c, { keyForm: { name: name.slice(0, 200), error: created.error } }, 400);
  await flashNewKey(c.env, session.idHash, created.key, now);
  console.log(JSON.stringify({ event: 'api_key_created', userId: session.userId, keyId: created.key.id }));
  return c.redirect('/dashboard', 303);
});

/** The user's Claude model map (the Anthropic surface): an empty field goes back to the server default. */
dashboardRoutes.post('/dashboard/claude-models', member, async (c) => {
  const session = currentSession(c);
  const checked = checkClaudeModelsForm(await c.req.parseBody());
  if (!checked.ok) return showDashboard(c, { claudeForm: { values: checked.values, errors: checked.errors } }, 400);
  // Through the broker, which holds the entries the key check hands to /v1/messages.
  await c.env.AUTH_BROKER.getByName(session.userId).setClaudeModels(session.userId, Object.fromEntries(checked.entries));
  return c.redirect('/dashboard?notice=claude_models_saved', 303);
});

async function ownKey(c: WebContext, keyId: string) {
  const keys = await listApiKeys(c.env.DB, currentSession(c).userId);
  return keys.find((key) => key.id === keyId && key.revoked_at === null) ?? null;
}

function keyNotFound(c: WebContext): Promise<Response> {
  return render(c, <ErrorPage session={c.get('session')} csrfToken={c.get('csrfToken')} title="Key not found"
    message="This key does not exist, is not yours, or was already revoked." />, 404);
}

dashboardRoutes.get('/dashboard/keys/:id/revoke', member, async (c) => {
  const apiKey = await ownKey(c, c.req.param('id'));
  if (!apiKey) return keyNotFound(c);
  return render(c, <RevokeKeyPage session={currentSession(c)} csrfToken={c.get('csrfToken')} apiKey={apiKey} />);
});

dashboardRoutes.post('/dashboard/keys/:id/revoke', member, async (c) => {
  const userId = currentSession(c).userId;
  const keyId = c.req.param('id');
  // Through the user's AuthBroker, which answers every key check: refused from the next request on.
  if (!(await c.env.AUTH_BROKER.getByName(userId).revokeKey(userId, keyId))) return keyNotFound(c);
  console.log(JSON.stringify({ event: 'api_key_revoked', userId, keyId }));
  return c.redirect('/dashboard?notice=key_revoked', 303);
});

async function showDeletePage(c: WebContext, error?: string): Promise<Response> {
  const session = currentSession(c);
  const [keys, link] = await Promise.all([listApiKeys(c.env.DB, session.userId), readCodexTokens(c.env.DB, session.userId)]);
  const keyCount = keys.filter((key) => key.revoked_at === null).length;
  return render(c, <DeleteAccountPage session={session} csrfToken={c.get('csrfToken')} keyCount={keyCount} connected={link !== null} error={error} />,
    error ? 400 : 200);
}

dashboardRoutes.get('/account/delete', member, (c) => showDeletePage(c));

dashboardRoutes.post('/account/delete', member, async (c) => {
  const session = currentSession(c);
  const form = await c.req.parseBody();
  const typed = typeof form.confirm_email === 'string' ? normalizeEmail(form.confirm_email) : '';
  if (typed !== session.email) return showDeletePage(c, 'That is not the email address of this account.');
  await deleteAccount(c.env.DB, session.userId, session.email);
  try {
    await c.env.AUTH_BROKER.getByName(session.userId).forget(session.userId);
  } catch (err) {
    // D1 no longer has the user, so the broker serves nothing either way; its leftovers are
    // encrypted and unreachable, but worth a log line.
    console.error(JSON.stringify({ event: 'broker_forget_failed', userId: session.userId, error: String(err) }));
  }
  try {
    await c.env.RESPONSE_STORE.getByName(session.userId).forget(session.userId);
  } catch (err) {
    // Stored items are encrypted and expire within the store's TTL anyway.
    console.error(JSON.stringify({ event: 'response_store_forget_failed', userId: session.userId, error: String(err) }));
  }
  console.log(JSON.stringify({ event: 'account_deleted', userId: session.userId }));
  dropSessionCookie(c);
  return c.redirect('/login?notice=account_deleted', 303);
});
