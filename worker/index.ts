import { Hono } from 'hono';
import { requireProxyKey, type AuthVariables } from './api/key-check.ts';
import { toApiError, ApiError } from './shared/errors.ts';
import { loggableUrl } from './shared/log-url.ts';
import { openAiCompatibleApp, openAiCors } from './api/openai-compatible.ts';
import { azureOpenAiApp } from './api/azure-openai.ts';
import { usageApp } from './api/usage.ts';
import { CODEX_USAGE_PATHS } from './upstream/usage-endpoint.ts';
import { anthropicErrors, anthropicModels, messagesApp } from './api/messages.ts';
import { notFoundPage, webApp } from './web/app.tsx';
import { runPurges } from './db/purge.ts';
export { AuthBroker } from './accounts/auth-broker.ts';
export { CodexRelay } from './upstream/codex-relay.ts';
export { ResponseStore } from './accounts/response-store.ts';

const app = new Hono<{ Bindings: Env; Variables: AuthVariables }>();
// Outermost on /v1, so that Anthropic clients get their error shape whoever answered (key check included).
app.use('/v1/*', anthropicErrors);
// Every OpenAI-surface route, and the unprefixed aliases some clients (Cursor) call, needs a proxy key.
// CORS runs first so preflights need no key and even a 401 is readable by a browser client.
for (const path of ['/v1/*', '/chat/completions', '/responses', '/models', '/models/*', '/openai/*']) app.use(path, openAiCors, requireProxyKey);
// The Codex-style usage endpoints, outside /v1 where Codex CLI looks for them.
for (const path of CODEX_USAGE_PATHS) app.use(path, openAiCors, requireProxyKey);
app.get('/healthz', (c) => c.json({ ok: true }));
app.get('/v1/models', anthropicModels);
app.get('/v1/models/:id', anthropicModels);
app.route('/v1', messagesApp);
app.route('/v1', openAiCompatibleApp);
app.route('/', usageApp);
app.route('/', openAiCompatibleApp);
// Azure OpenAI's path shape, for clients that only offer an Azure setting (Cursor on some plans).
app.route('/openai', azureOpenAiApp);
// The web pages (sign-in, onboarding, dashboard) answer their own errors with HTML pages.
app.route('/', webApp);

// The one error handler: every failure leaves in the OpenAI error shape; the internal detail
// (never a secret) goes to the logs only, with any key in the URL redacted.
app.onError((err, c) => {
  const apiError = toApiError(err);
  const line = JSON.stringify({
    event: 'request_failed', method: c.req.method, path: loggableUrl(c.req.url),
    status: apiError.status, code: apiError.code, detail: apiError.detail ?? null,
  });
  if (apiError.status >= 500) console.error(line);
  else console.log(line);
  return apiError.toResponse();
});

app.notFound((c) => {
  if (c.req.path === '/v1' || c.req.path.startsWith('/v1/') || c.req.path.startsWith('/openai/')) {
    return new ApiError('not_found', `Unknown path: ${c.req.method} ${c.req.path}`).toResponse();
  }
  return notFoundPage(c);
});

/** The hourly cron (wrangler.jsonc `triggers`): deletes expired and spent rows (worker/db/purge.ts). */
const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
  // A number in production; a test runner may hand over a Date.
  await runPurges(env.DB, Number(controller.scheduledTime));
};

// The Hono app is the fetch handler; `scheduled` sits beside it on the same default export.
export default Object.assign(app, { scheduled }) satisfies ExportedHandler<Env>;
