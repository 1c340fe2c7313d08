/**
 * The pages under production settings (an https PUBLIC_APP_ORIGIN, mail through Resend): every
 * cookie they set, from the first visit to sign-out, is one a browser accepts on https with the
 * `__Host-` rules, and the flow works with those cookies alone.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Browser, productionEnv, type Page } from '../helpers/browser.ts';

afterEach(() => vi.restoreAllMocks());

/**
 * What a browser checks before storing a cookie from an https page (RFC 6265bis, "cookie name
 * prefixes"): a `__Host-` cookie needs Secure, Path=/ and no Domain, or it is dropped.
 */
function problemsWith(line: string): string[] {
  const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
  const name = pair.slice(0, pair.indexOf('='));
  const has = (attribute: RegExp) => attributes.some((a) => attribute.test(a));
  const problems: string[] = [];
  if (!name.startsWith('__Host-')) problems.push(`${name}: no __Host- prefix`);
  if (!has(/^secure$/i)) problems.push(`${name}: not Secure`);
  if (!has(/^httponly$/i)) problems.push(`${name}: not HttpOnly`);
  if (!has(/^path=\/$/i)) problems.push(`${name}: not Path=/`);
  if (has(/^domain=/i)) problems.push(`${name}: has a Domain`);
  if (!has(/^samesite=(lax|strict)$/i)) problems.push(`${name}: no SameSite`);
  return problems;
}

describe('cookies on a production origin', () => {
  it('are all __Host-, Secure, HttpOnly, SameSite and Path=/ through sign-in, the pages and sign-out', async () => {
    let mailed = '';
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      mailed = ((await new Request(input, init).json()) as { text: string }).text;
      return Response.json({ id: 'mail' });
    });
    const browser = new Browser(productionEnv({ PUBLIC_APP_ORIGIN: 'https://proxy.example.org' }));
    expect(browser.origin).toBe('https://proxy.example.org');
    const pages: Page[] = [];
    const visit = async (page: Promise<Page>) => {
      const answered = await page;
      pages.push(answered);
      return answered;
    };

    await visit(browser.get('/login'));
    expect((await visit(browser.post('/login', { email: `${crypto.randomUUID()}@example.com` }))).status).toBe(200);
    expect(mailed).toContain('https://proxy.example.org/auth/verify#token=');
    const token = /token=([A-Za-z0-9_-]{43})/.exec(mailed)?.[1] ?? '';
    await visit(browser.get('/auth/verify'));
    const verified = await visit(browser.post('/auth/verify', { token }));
    expect(verified.location).toBe('/onboarding');
    expect((await visit(browser.get('/onboarding'))).status).toBe(200);
    expect((await visit(browser.get('/dashboard'))).status).toBe(200);
    const signedOut = await visit(browser.post('/logout'));
    expect(signedOut.location).toBe('/login?notice=signed_out');

    const lines = pages.flatMap((page) => page.setCookies);
    expect(lines.map((line) => line.slice(0, line.indexOf('=')))).toEqual(
      expect.arrayContaining(['__Host-usemysub_presession', '__Host-usemysub_session']),
    );
    expect(lines.flatMap(problemsWith)).toEqual([]);
    // Sign-out cleared the cookie a browser would really hold (same name and attributes).
    expect(browser.cookies.has('__Host-usemysub_session')).toBe(false);
    expect((await browser.get('/dashboard')).location).toBe('/login');
  });
});
