/** The middleware stacks of the web routes, and the helper that renders a page. */
import { bodyLimit } from 'hono/body-limit';
import { every } from 'hono/combine';
import { HTTPException } from 'hono/http-exception';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { WebContext } from './context.ts';
import { pageHeaders } from './security-headers.ts';
import { browser, signedIn } from './session.ts';

/** Forms are small; an auth.json upload is a few kilobytes. */
const MAX_FORM_BYTES = 64 * 1024;

const formLimit = bodyLimit({
  maxSize: MAX_FORM_BYTES,
  onError: () => {
    throw new HTTPException(413, { message: 'form_too_large' });
  },
});

/** Every page: headers, body limit, session and CSRF. */
export const page = every(pageHeaders, formLimit, browser);
/** Pages for signed-in users only. */
export const member = every(pageHeaders, formLimit, browser, signedIn);

/** Sends a rendered page (a hono/jsx element) as a complete HTML document. */
export async function render(c: WebContext, element: HtmlEscapedString | Promise<HtmlEscapedString>, status: 200 | 400 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 502 | 503 = 200): Promise<Response> {
  return c.html(`<!DOCTYPE html>${String(await element)}`, status);
}
