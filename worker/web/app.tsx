/** @jsxImportSource hono/jsx */
/**
 * The web pages (sign-in, onboarding, dashboard) as one Hono app, mounted at the root by
 * worker/index.ts. Its own error handler answers with HTML pages; the API keeps its JSON errors.
 */
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { asset } from './assets.ts';
import type { WebContext, WebEnv } from './context.ts';
import { dashboardRoutes } from './dashboard-routes.tsx';
import { keyLimitsRoutes } from './key-limits-routes.tsx';
import { loginRoutes } from './login-routes.tsx';
import { render } from './middleware.ts';
import { onboardingRoutes } from './onboarding-routes.tsx';
import { assetHeaders, pageHeaders } from './security-headers.ts';
import { ErrorPage } from './views/error.tsx';
import { loggableUrl } from '../shared/log-url.ts';

export const webApp = new Hono<WebEnv>();

webApp.get('/assets/:file', assetHeaders, (c) => {
  const file = asset(c.req.path);
  if (!file) return c.text('Not found', 404);
  return c.body(file.body, 200, { 'Content-Type': file.contentType });
});
webApp.route('/', loginRoutes);
webApp.route('/', onboardingRoutes);
webApp.route('/', dashboardRoutes);
webApp.route('/', keyLimitsRoutes);

function errorPage(c: WebContext, status: 403 | 404 | 413 | 500, title: string, message: string): Promise<Response> {
  return render(c, <ErrorPage session={c.get('session') ?? null} csrfToken={c.get('csrfToken') ?? ''} title={title} message={message} />, status);
}

webApp.onError((err, c) => {
  if (err instanceof HTTPException && err.status === 403) {
    console.log(JSON.stringify({ event: 'form_rejected', path: loggableUrl(c.req.url), reason: err.message || 'cross_origin' }));
    return errorPage(c, 403, 'This form could not be accepted',
      'It has expired or was sent from another site. Go back, reload the page and try again.');
  }
  if (err instanceof HTTPException && err.status === 413) {
    return errorPage(c, 413, 'That was too large', 'The form sent more data than this page accepts.');
  }
  // Name and message only: none of the errors raised on these paths carries a secret.
  console.error(JSON.stringify({ event: 'page_failed', method: c.req.method, path: loggableUrl(c.req.url),
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }));
  return errorPage(c, 500, 'Something went wrong', 'The page could not be shown. Please try again in a moment.');
});

/** The HTML 404 page for paths outside the API (worker/index.ts's notFound). */
export async function notFoundPage(c: Context): Promise<Response> {
  const web = c as unknown as WebContext;
  await pageHeaders(c, async () => {
    c.res = await render(web, <ErrorPage session={null} csrfToken="" title="Page not found" message="There is nothing at this address." />, 404);
  });
  return c.res;
}
