/**
 * Sessions, CSRF and the response headers of the web pages: what a browser is given, what the
 * database keeps, and what a forged or stale request gets.
 */
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ASSET_PATHS } from '../../../worker/web/assets.ts';
import { hashSecret } from '../../../worker/web/secrets.ts';
import { Browser, csrfTokenIn, devEnv, productionEnv, signIn, type Page } from '../helpers/browser.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function sessionCookieLine(page: Page, name: string): string {
  const line = page.setCookies.find((cookie) => cookie.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie set`);
  return line;
}

/** Signs in under production settings (mail intercepted, link taken from it). */
async function productionSignIn(): Promise<{ browser: Browser; verify: Page; email: string }> {
  let mailed = '';
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    mailed = ((await new Request(input, init).json()) as { text: string }).text;
    return Response.json({ id: 'mail' });
  });
  const browser = new Browser(productionEnv());
  const email = `${crypto.randomUUID()}@example.com`;
  await browser.get('/login');
  await browser.post('/login', { email });
  const token = /token=([A-Za-z0-9_-]{43})/.exec(mailed)?.[1] ?? '';
  await browser.get('/auth/verify');
  const verify = await browser.post('/auth/verify', { token });
  return { browser, verify, email };
}

describe('the session cookie', () => {
  it('is __Host-, HttpOnly, Secure and SameSite=Lax on Path=/ in production, with an expiry', async () => {
    const { verify } = await productionSignIn();
    const line = sessionCookieLine(verify, '__Host-usemysub_session');
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Lax/);
    expect(line).toMatch(/; Path=\//);
    expect(line).not.toMatch(/Domain=/i);
    expect(line).toMatch(/; Max-Age=2592000/);
  });

  it('drops only the __Host- prefix and Secure on http://localhost, staying HttpOnly and SameSite=Lax', async () => {
    const browser = new Browser(devEnv());
    const login = await browser.get('/login');
    const pre = sessionCookieLine(login, 'usemysub_presession');
    expect(pre).toMatch(/; HttpOnly/);
    expect(pre).toMatch(/; SameSite=Lax/);
    expect(pre).not.toMatch(/Secure/);
  });

  it('also stays strict for an http origin that is not loopback', async () => {
    const login = await new Browser(devEnv({ PUBLIC_APP_ORIGIN: 'http://usemysub.example' })).get('/login');
    expect(sessionCookieLine(login, '__Host-usemysub_presession')).toMatch(/; Secure/);
  });

  it('holds a random id whose SHA-256 alone is stored', async () => {
    const { browser, email } = await signIn();
    const id = browser.cookies.get('usemysub_session') ?? '';
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await env.DB.prepare('SELECT s.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?').bind(email).all();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]?.id_hash).toBe(await hashSecret(id));
    expect(JSON.stringify(rows.results)).not.toContain(id);
  });
});

describe('signed-in pages', () => {
  it('send signed-out visitors to /login', async () => {
    const browser = new Browser();
    for (const path of ['/dashboard', '/onboarding', '/account/delete', '/']) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(303);
      expect(page.location, path).toBe('/login');
    }
  });

  it('stop accepting a session once it has expired, and clear its cookie', async () => {
    const { browser, email } = await signIn();
    await env.DB.prepare('UPDATE sessions SET expires_at = ? WHERE user_id = (SELECT id FROM users WHERE email = ?)')
      .bind(Date.now() - 1, email).run();
    const page = await browser.get('/dashboard');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/login');
    expect(browser.cookies.has('usemysub_session')).toBe(false);
  });

  it('leave no expired row behind once anyone signs in again', async () => {
    const { email } = await signIn();
    await env.DB.prepare('UPDATE sessions SET expires_at = ? WHERE user_id = (SELECT id FROM users WHERE email = ?)')
      .bind(Date.now() - 1, email).run();
    await signIn(); // someone else
    const left = await env.DB.prepare('SELECT COUNT(*) AS n FROM sessions WHERE expires_at <= ?').bind(Date.now()).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it('expire 30 days after sign-in', async () => {
    const { browser } = await signIn();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 30 * 24 * 3600_000 + 1_000);
    expect((await browser.get('/dashboard')).location).toBe('/login');
  });
});

describe('signing out', () => {
  it('deletes the session: the old cookie no longer signs anyone in', async () => {
    const { browser, email } = await signIn();
    const oldCookie = browser.cookies.get('usemysub_session') ?? '';
    await browser.get('/dashboard');
    const out = await browser.post('/logout');
    expect(out.status).toBe(303);
    expect(out.location).toBe('/login?notice=signed_out');
    expect(browser.cookies.has('usemysub_session')).toBe(false);
    const count = await env.DB.prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = ?)')
      .bind(email).first<{ n: number }>();
    expect(count?.n).toBe(0);

    const replay = new Browser(browser.env);
    replay.cookies.set('usemysub_session', oldCookie);
    expect((await replay.get('/dashboard')).location).toBe('/login');
    expect((await browser.follow(out)).html).toContain('You are signed out.');
  });
});

describe('CSRF protection', () => {
  /** Every state-changing form of the site, with fields that would otherwise be accepted. */
  const FORMS: [string, Record<string, string>][] = [
    ['/dashboard/keys', { name: 'forged' }],
    ['/onboarding/callback', { callback_url: 'http://localhost:1455/auth/callback?code=x&state=y' }],
    ['/onboarding/auth-json', { auth_json: '{}' }],
    ['/account/delete', { confirm_email: 'x@example.com' }],
    ['/logout', {}],
  ];

  it('refuses every signed-in form without the token, or with a wrong one, and changes nothing', async () => {
    const { browser, email } = await signIn();
    await browser.get('/dashboard');
    for (const [path, fields] of FORMS) {
      for (const csrf of [null, 'A'.repeat(43)]) {
        const page = await browser.post(path, path === '/account/delete' ? { confirm_email: email } : fields, { csrf });
        expect(page.status, `${path} csrf=${csrf}`).toBe(403);
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
        expect(page.html).toContain('This form could not be accepted');
      }
    }
    const keys = await env.DB.prepare('SELECT COUNT(*) AS n FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.email = ?')
      .bind(email).first<{ n: number }>();
    expect(keys?.n).toBe(0);
    expect((await browser.get('/dashboard')).status).toBe(200);
  });

  it('refuses the sign-in forms without the token', async () => {
    const browser = new Browser();
    await browser.get('/login');
    expect((await browser.post('/login', { email: 'a@example.com' }, { csrf: null })).status).toBe(403);
    expect((await browser.post('/auth/verify', { token: 'x' }, { csrf: null })).status).toBe(403);
    // A browser that never loaded a page has no token to send at all.
    expect((await new Browser().post('/login', { email: 'a@example.com' }, { csrf: 'guess' })).status).toBe(403);
  });

  it('refuses a form posted from another site even with a valid token', async () => {
    const { browser } = await signIn();
    await browser.get('/dashboard');
    const page = await browser.post('/dashboard/keys', { name: 'cross-site' }, { origin: 'https://evil.example' });
    expect(page.status).toBe(403);
  });

  it('does not accept one session’s token in another session', async () => {
    const first = await signIn();
    const second = await signIn();
    const firstToken = csrfTokenIn((await first.browser.get('/dashboard')).html);
    await second.browser.get('/dashboard');
    expect((await second.browser.post('/dashboard/keys', { name: 'x' }, { csrf: firstToken })).status).toBe(403);
  });
});

describe('response headers', () => {
  it('give every page a strict CSP without framing, no referrer, nosniff and no-store', async () => {
    const { browser } = await signIn();
    for (const path of ['/dashboard', '/onboarding', '/account/delete']) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(200);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("form-action 'self'");
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(page.headers.get('cache-control')).toBe('no-store');
    }
    const login = await new Browser().get('/login');
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(login.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('serve the one stylesheet and script from the Worker, cacheable, and no page names another host', async () => {
    const { browser, landing } = await signIn();
    const css = await browser.get(ASSET_PATHS.css);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('cache-control')).toContain('immutable');
    expect((await browser.get(ASSET_PATHS.js)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await browser.get('/assets/app.old.css')).status).toBe(404);

    const dashboard = await browser.get('/dashboard');
    for (const html of [landing.html, dashboard.html, (await new Browser().get('/login')).html]) {
      const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
      const assets = sources.filter((s) => s.startsWith('/assets/'));
      expect(assets.sort()).toEqual([ASSET_PATHS.css, ASSET_PATHS.js].sort());
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
    }
  });
});

describe('error pages', () => {
  it('answer unknown pages with an HTML 404, while API paths keep the JSON error shape', async () => {
    const page = await new Browser().get('/no-such-page');
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.html).toContain('Page not found');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const api = await exports.default.fetch(new Request('https://usemysub.test/v1/no-such-thing'));
    expect(api.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('show an HTML 500 page without internals when a page fails', async () => {
    const { browser } = await signIn();
    const broken = browser.withEnv({ TOKEN_ENCRYPTION_KEY: 'not-a-key' });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const page = await broken.get('/onboarding');
    expect(page.status).toBe(500);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.html).toContain('Something went wrong');
    expect(page.html).not.toContain('TOKEN_ENCRYPTION_KEY');
    expect(page.headers.get('cache-control')).toBe('no-store');
  });
});
