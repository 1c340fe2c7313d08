/**
 * A small browser for the web pages: a cookie jar, same-origin form posts that carry the
 * page's CSRF token, and the env the Worker runs with (local dev or production settings).
 * Requests go through the real app inside workerd; nothing leaves the test.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import app from '../../../worker/index.ts';

/** Local development: links shown in the page, relaxed cookies on http://localhost. */
export function devEnv(overrides: Partial<Env> = {}): Env {
  return { ...env, PUBLIC_APP_ORIGIN: 'http://localhost:8787', DEV_RETURN_MAGIC_LINK: 'true', ...overrides };
}

/** Production settings: https origin, mail through Resend (tests intercept it). */
export function productionEnv(overrides: Partial<Env> = {}): Env {
  return { ...env, PUBLIC_APP_ORIGIN: 'https://usemysub.com', DEV_RETURN_MAGIC_LINK: 'false', RESEND_API_KEY: 're_test_key', ...overrides };
}

export interface Page {
  status: number;
  headers: Headers;
  html: string;
  /** The Location header, made absolute-path (`/dashboard?…`). */
  location: string | null;
  /** Every Set-Cookie header of the response. */
  setCookies: string[];
}

export interface PostOptions {
  /** The CSRF token to send; default: the one in the page last loaded. `null` sends none. */
  csrf?: string | null;
  /** The Origin header; default: the app's own origin. `null` sends none. */
  origin?: string | null;
  /** multipart/form-data instead of urlencoded (file uploads). */
  multipart?: FormData;
  /** The Accept header; default `text/html`. */
  accept?: string;
}

export class Browser {
  readonly env: Env;
  readonly origin: string;
  readonly ip: string;
  readonly cookies = new Map<string, string>();
  /** The HTML of the last page loaded (its CSRF token is sent with the next post). */
  last: Page | null = null;

  /** `ip` defaults to a random one (rate limits count per IP); `origin` to PUBLIC_APP_ORIGIN's. */
  constructor(workerEnv: Env = devEnv(), options: { ip?: string; origin?: string } = {}) {
    this.env = workerEnv;
    this.origin = options.origin ?? new URL(workerEnv.PUBLIC_APP_ORIGIN).origin;
    this.ip = options.ip ?? `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
  }

  /** The same browser (cookies, last page, IP, origin) talking to a Worker with other settings. */
  withEnv(overrides: Partial<Env>): Browser {
    const other = new Browser({ ...this.env, ...overrides }, { ip: this.ip, origin: this.origin });
    for (const [name, value] of this.cookies) other.cookies.set(name, value);
    other.last = this.last;
    return other;
  }

  async get(path: string): Promise<Page> {
    return this.#send(new Request(this.origin + path, { headers: this.#headers() }));
  }

  /** Follows a redirect answer with a GET. */
  async follow(page: Page): Promise<Page> {
    if (!page.location) throw new Error(`expected a redirect, got ${page.status}`);
    return this.get(page.location);
  }

  async post(path: string, fields: Record<string, string> = {}, options: PostOptions = {}): Promise<Page> {
    const headers = this.#headers();
    if (options.accept) headers.set('Accept', options.accept);
    const origin = options.origin === undefined ? this.origin : options.origin;
    if (origin !== null) headers.set('Origin', origin);
    const csrf = options.csrf === undefined ? csrfTokenIn(this.last?.html ?? '') : options.csrf;
    let body: BodyInit;
    if (options.multipart) {
      if (csrf !== null) options.multipart.set('csrf', csrf);
      body = options.multipart;
    } else {
      const form = new URLSearchParams(fields);
      if (csrf !== null) form.set('csrf', csrf);
      headers.set('Content-Type', 'application/x-www-form-urlencoded');
      body = form.toString();
    }
    return this.#send(new Request(this.origin + path, { method: 'POST', headers, body }));
  }

  #headers(): Headers {
    const headers = new Headers({ 'CF-Connecting-IP': this.ip, Accept: 'text/html' });
    if (this.cookies.size > 0) headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    return headers;
  }

  async #send(request: Request): Promise<Page> {
    const ctx = createExecutionContext();
    const res = await app.fetch(request, this.env, ctx);
    await waitOnExecutionContext(ctx);
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = attributes.some((a) => /^max-age=0$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = res.headers.get('Location');
    const page: Page = {
      status: res.status,
      headers: res.headers,
      html: await res.text(),
      location: location === null ? null : location.startsWith('/') ? location : new URL(location).pathname + new URL(location).search,
      setCookies,
    };
    if (page.html.includes('<html')) this.last = page;
    return page;
  }
}

/** The value of the first `name="csrf"` field in `html`, or null. */
export function csrfTokenIn(html: string): string | null {
  return /<input type="hidden" name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? null;
}

/** The dev-mode sign-in link shown on the "check your inbox" page. */
export function devLinkIn(html: string): string {
  const link = /<a class="button button-primary" href="([^"]+)" id="dev-magic-link"/.exec(html)?.[1];
  if (!link) throw new Error('no sign-in link on the page');
  return link.replaceAll('&amp;', '&');
}

/** The path (with query) of an absolute link: what a browser sends for it (never the fragment). */
export function pathOf(link: string): string {
  const url = new URL(link);
  return url.pathname + url.search;
}

/** The token of a sign-in link, from its fragment. */
export function tokenOf(link: string): string {
  return new URLSearchParams(new URL(link).hash.slice(1)).get('token') ?? '';
}

/** Signs a fresh browser in through the real magic-link flow (dev mode); returns it on the page it lands on. */
export async function signIn(email = `${crypto.randomUUID()}@example.com`, workerEnv: Env = devEnv()): Promise<{ browser: Browser; landing: Page; email: string }> {
  const browser = new Browser(workerEnv);
  await browser.get('/login');
  const sent = await browser.post('/login', { email });
  if (sent.status !== 200) throw new Error(`sign-in request answered ${sent.status}`);
  const link = devLinkIn(sent.html);
  await browser.get(pathOf(link));
  // What the page script does: the token comes from the link's fragment, never from the server.
  const redirect = await browser.post('/auth/verify', { token: tokenOf(link) });
  if (redirect.status !== 303) throw new Error(`redeeming the link answered ${redirect.status}`);
  return { browser, landing: await browser.follow(redirect), email };
}

/** An API call with a proxy key to the same Worker and settings as `browser` (POST with JSON when `body` is given). */
export async function callApi(browser: Browser, apiKey: string, path: string, body?: unknown): Promise<Response> {
  const headers = new Headers({ Authorization: `Bearer ${apiKey}` });
  if (body !== undefined) headers.set('Content-Type', 'application/json');
  const request = new Request(browser.origin + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const ctx = createExecutionContext();
  const res = await app.fetch(request, browser.env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return new Response(text, { status: res.status, headers: res.headers });
}
