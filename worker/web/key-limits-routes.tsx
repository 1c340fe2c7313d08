/** @jsxImportSource hono/jsx */
/**
 * `GET/POST /dashboard/keys/:id/limits`: a key's limits, set through the user's AuthBroker (which
 * enforces them), so they apply from the next request. Post/redirect/get like the other forms.
 */
import { Hono } from 'hono';
import { parseAllowedModels } from '../accounts/key-limits.ts';
import { listApiKeys, type ApiKeyRow } from '../db/api-keys.ts';
import type { WebContext, WebEnv } from './context.ts';
import { checkLimitsForm, EMPTY_FORM, formOf, type LimitsErrors, type LimitsForm } from './key-limits.ts';
import { member, render } from './middleware.ts';
import { currentSession } from './session.ts';
import { ErrorPage } from './views/error.tsx';
import { KeyLimitsPage } from './views/key-limits.tsx';

export const keyLimitsRoutes = new Hono<WebEnv>();

async function activeKey(c: WebContext, keyId: string): Promise<ApiKeyRow | null> {
  const keys = await listApiKeys(c.env.DB, currentSession(c).userId);
  return keys.find((key) => key.id === keyId && key.revoked_at === null) ?? null;
}

function keyNotFound(c: WebContext): Promise<Response> {
  return render(c, <ErrorPage session={c.get('session')} csrfToken={c.get('csrfToken')} title="Key not found"
    message="This key does not exist, is not yours, or was revoked." />, 404);
}

/** The account's models and the key's count today; the page still works when the broker cannot say. */
async function brokerFacts(c: WebContext, keyId: string) {
  const userId = currentSession(c).userId;
  const broker = c.env.AUTH_BROKER.getByName(userId);
  const [models, today] = await Promise.all([
    broker.accountModelIds(userId).catch(() => null),
    broker.keyUsageToday(userId, keyId).catch(() => null),
  ]);
  return { models, today };
}

async function showLimits(c: WebContext, apiKey: ApiKeyRow, extra: { form?: LimitsForm; errors?: LimitsErrors; saved?: boolean } = {}) {
  const facts = await brokerFacts(c, apiKey.id);
  return render(c, <KeyLimitsPage session={currentSession(c)} csrfToken={c.get('csrfToken')} apiKey={apiKey}
    form={extra.form ?? formOf(apiKey, parseAllowedModels(apiKey.allowed_models))} errors={extra.errors} saved={extra.saved}
    today={facts.today} accountModels={facts.models} />, extra.errors ? 400 : 200);
}

keyLimitsRoutes.get('/dashboard/keys/:id/limits', member, async (c) => {
  const apiKey = await activeKey(c, c.req.param('id'));
  if (!apiKey) return keyNotFound(c);
  return showLimits(c, apiKey, { saved: c.req.query('notice') === 'saved' });
});

keyLimitsRoutes.post('/dashboard/keys/:id/limits', member, async (c) => {
  const userId = currentSession(c).userId;
  const apiKey = await activeKey(c, c.req.param('id'));
  if (!apiKey) return keyNotFound(c);
  const body = await c.req.parseBody();
  const field = (name: keyof LimitsForm) => (typeof body[name] === 'string' ? (body[name] as string).slice(0, 4_000) : '');
  const form: LimitsForm = body.clear ? EMPTY_FORM : { requests: field('requests'), tokens: field('tokens'), models: field('models'), expires: field('expires') };
  const checked = checkLimitsForm(form, Date.now(), form.models.trim() === '' ? null : (await brokerFacts(c, apiKey.id)).models);
  if (!checked.ok) return showLimits(c, apiKey, { form, errors: checked.errors });
  if (!(await c.env.AUTH_BROKER.getByName(userId).setKeyLimits(userId, apiKey.id, checked.limits))) return keyNotFound(c);
  console.log(JSON.stringify({ event: 'api_key_limits_set', userId, keyId: apiKey.id }));
  return c.redirect(`/dashboard/keys/${apiKey.id}/limits?notice=saved`, 303);
});
