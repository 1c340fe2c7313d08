/**
 * Magic-link sign-in: the /login form, the link (single use, 15 minutes, 256 random bits, stored
 * only hashed), mail through Resend in production and in the page only in local development,
 * rate limits, and the same answer whether or not an account exists.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashSecret, rateLimitBucket } from '../../../worker/web/secrets.ts';
import { Browser, csrfTokenIn, devEnv, devLinkIn, pathOf, productionEnv, signIn, tokenOf } from '../helpers/browser.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface SentMail {
  url: string;
  authorization: string | null;
  idempotencyKey: string | null;
  body: { from: string; to: string[]; subject: string; text: string; html: string };
}

/** Intercepts the Worker's calls to Resend (nothing reaches the network) and records them. */
function interceptResend(answer: () => Response = () => Response.json({ id: crypto.randomUUID() })): SentMail[] {
  const sent: SentMail[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith('https://api.resend.com/')) throw new Error(`unexpected fetch to ${request.url}`);
    sent.push({
      url: request.url,
      authorization: request.headers.get('authorization'),
      idempotencyKey: request.headers.get('idempotency-key'),
      body: (await request.json()) as SentMail['body'],
    });
    return answer();
  });
  return sent;
}

function linkInMail(mail: SentMail): string {
  const link = /https?:\/\/\S+\/auth\/verify#token=[A-Za-z0-9_-]+/.exec(mail.body.text)?.[0];
  if (!link) throw new Error('no link in the mail');
  return link;
}

async function requestLink(browser: Browser, email: string) {
  if (!browser.last) await browser.get('/login');
  return browser.post('/login', { email });
}

async function confirmPage(browser: Browser, link: string) {
  return browser.get(pathOf(link));
}

async function countRows(table: string, where: string, ...params: unknown[]): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).bind(...params).first<{ n: number }>();
  return row?.n ?? 0;
}

describe('the /login page', () => {
  it('has a labelled email field, a submit button and a CSRF token', async () => {
    const page = await new Browser().get('/login');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.html).toContain('<label for="email">Email address</label>');
    expect(page.html).toMatch(/<input id="email" name="email" type="email" autocomplete="email"/);
    expect(page.html).toContain('Email me a sign-in link');
    expect(csrfTokenIn(page.html)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses an invalid address with a message, keeps what was typed, and stores no link', async () => {
    const browser = new Browser();
    await browser.get('/login');
    const before = await countRows('magic_links', '1 = 1');
    const page = await browser.post('/login', { email: 'not an email' });
    expect(page.status).toBe(400);
    expect(page.html).toContain('Enter an email address like name@example.com.');
    expect(page.html).toContain('value="not an email"');
    expect(page.html).toContain('aria-invalid="true"');
    expect(await countRows('magic_links', '1 = 1')).toBe(before);
  });

  it('sends a signed-in visitor on to the dashboard', async () => {
    const { browser } = await signIn();
    const page = await browser.get('/login');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/dashboard');
  });
});

describe('a sign-in link', () => {
  it('carries 256 random bits and is stored only as its SHA-256, expiring 15 minutes later', async () => {
    const browser = new Browser();
    const email = `${crypto.randomUUID()}@example.com`;
    const link = devLinkIn((await requestLink(browser, email)).html);
    expect(link).toMatch(/^http:\/\/localhost:8787\/auth\/verify#token=[A-Za-z0-9_-]{43}$/);
    const token = tokenOf(link);

    const rows = await env.DB.prepare('SELECT * FROM magic_links WHERE email = ?').bind(email).all<Record<string, unknown>>();
    expect(rows.results).toHaveLength(1);
    const row = rows.results[0]!;
    expect(row.token_hash).toBe(await hashSecret(token));
    expect(JSON.stringify(rows.results)).not.toContain(token);
    expect(Number(row.expires_at) - Number(row.created_at)).toBe(15 * 60_000);
  });

  it('creates the account at the first sign-in and reuses it afterwards, whatever the case and spaces typed', async () => {
    const local = crypto.randomUUID();
    const first = await signIn(` ${local.toUpperCase()}@Example.COM `);
    expect(first.landing.html).toContain('Connect your ChatGPT account');
    expect(await countRows('users', 'email = ?', `${local}@example.com`)).toBe(1);

    const second = await signIn(`${local}@example.com`);
    expect(second.landing.html).toContain(`${local}@example.com`);
    expect(await countRows('users', 'email = ?', `${local}@example.com`)).toBe(1);
  });

  it('is not spent by opening it: a mail scanner may follow it first', async () => {
    const browser = new Browser();
    const link = devLinkIn((await requestLink(browser, `${crypto.randomUUID()}@example.com`)).html);
    await new Browser().get(pathOf(link)); // the scanner
    const confirm = await confirmPage(browser, link);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Continue');
    const done = await browser.post('/auth/verify', { token: tokenOf(link) });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/onboarding');
  });

  it('works once: using it again shows the "already used" page and signs nobody in', async () => {
    const browser = new Browser();
    const link = devLinkIn((await requestLink(browser, `${crypto.randomUUID()}@example.com`)).html);
    await confirmPage(browser, link);
    expect((await browser.post('/auth/verify', { token: tokenOf(link) })).status).toBe(303);

    const other = new Browser();
    await confirmPage(other, link);
    const again = await other.post('/auth/verify', { token: tokenOf(link) });
    expect(again.status).toBe(410);
    expect(again.html).toContain('This sign-in link was already used');
    expect([...other.cookies.keys()]).not.toContain('usemysub_session');
  });

  it('redeemed twice at the same moment signs in exactly one browser', async () => {
    const email = `${crypto.randomUUID()}@example.com`;
    const link = devLinkIn((await requestLink(new Browser(), email)).html);
    const browsers = [new Browser(), new Browser(), new Browser()];
    for (const browser of browsers) await confirmPage(browser, link);

    const answers = await Promise.all(browsers.map((browser) => browser.post('/auth/verify', { token: tokenOf(link) })));
    expect(answers.map((page) => page.status).sort()).toEqual([303, 410, 410]);
    expect(browsers.filter((browser) => browser.cookies.has('usemysub_session'))).toHaveLength(1);
    const sessions = await env.DB.prepare('SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?')
      .bind(email).first<{ n: number }>();
    expect(sessions?.n).toBe(1);
  });

  it('expires after 15 minutes with a clear page offering a new link', async () => {
    const browser = new Browser();
    const email = `${crypto.randomUUID()}@example.com`;
    const link = devLinkIn((await requestLink(browser, email)).html);
    const confirm = await confirmPage(browser, link);
    expect(confirm.status).toBe(200);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 15 * 60_000 + 1_000);
    const expired = await browser.post('/auth/verify', { token: tokenOf(link) }, { csrf: csrfTokenIn(confirm.html) });
    expect(expired.status).toBe(410);
    expect(expired.html).toContain('This sign-in link has expired');
    expect(expired.html).toContain(`value="${email}"`);
    expect(await countRows('users', 'email = ?', email)).toBe(0);
  });

  it('that is unknown, cut short or made up gets the "not valid" page', async () => {
    const browser = new Browser();
    const confirm = await browser.get('/auth/verify');
    for (const token of ['', 'short', 'A'.repeat(43), `${'x'.repeat(42)}!`]) {
      const page = await browser.post('/auth/verify', { token }, { csrf: csrfTokenIn(confirm.html) });
      expect(page.status).toBe(400);
      expect(page.html).toContain('This sign-in link is not valid');
    }
  });

  it('keeps its token out of every request the server sees (and so out of request logs)', async () => {
    const browser = new Browser();
    const link = devLinkIn((await requestLink(browser, `${crypto.randomUUID()}@example.com`)).html);
    const token = tokenOf(link);
    expect(pathOf(link)).toBe('/auth/verify');
    const confirm = await confirmPage(browser, link);
    expect(confirm.status).toBe(200);
    expect(confirm.html).not.toContain(token);
    expect(confirm.html).toContain('id="magic-token"');
  });

  it('also works by pasting the link into the page (a browser without JavaScript)', async () => {
    const browser = new Browser();
    const link = devLinkIn((await requestLink(browser, `${crypto.randomUUID()}@example.com`)).html);
    await confirmPage(browser, link);
    const done = await browser.post('/auth/verify', { token: '', link: ` ${link} ` });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/onboarding');
  });
});

describe('rate limits', () => {
  it('allow 5 links per address to one requester in 15 minutes, then answer 429 with Retry-After; other addresses are unaffected', async () => {
    interceptResend();
    const email = `${crypto.randomUUID()}@example.com`;
    const ip = '198.51.100.200';
    for (let i = 0; i < 5; i++) {
      expect((await requestLink(new Browser(productionEnv(), { ip }), email)).status).toBe(200);
    }
    const limited = await requestLink(new Browser(productionEnv(), { ip }), email.toUpperCase());
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.html).toContain('Too many sign-in requests');
    expect(limited.html).not.toContain('/auth/verify#token=');
    expect((await requestLink(new Browser(productionEnv(), { ip }), `${crypto.randomUUID()}@example.com`)).status).toBe(200);
  });

  it('do not let strangers lock an address out: their requests use up only their own allowance', async () => {
    const sent = interceptResend();
    const email = `${crypto.randomUUID()}@example.com`;
    for (let i = 0; i < 6; i++) await requestLink(new Browser(productionEnv(), { ip: '203.0.113.66' }), email);
    expect((await requestLink(new Browser(productionEnv(), { ip: '203.0.113.66' }), email)).status).toBe(429);
    // The owner, from their own address, still gets a link.
    const owner = await requestLink(new Browser(productionEnv(), { ip: '192.0.2.10' }), email);
    expect(owner.status).toBe(200);
    expect(sent.at(-1)?.body.to).toEqual([email]);
  });

  it('cap the mails one address receives from unknown browsers, however many addresses ask', async () => {
    const sent = interceptResend();
    const email = `${crypto.randomUUID()}@example.com`;
    for (let i = 0; i < 10; i++) {
      expect((await requestLink(new Browser(productionEnv(), { ip: `198.18.0.${i + 1}` }), email)).status).toBe(200);
    }
    expect((await requestLink(new Browser(productionEnv(), { ip: '198.18.1.1' }), email)).status).toBe(429);
    expect(sent).toHaveLength(10);
  });

  it('always let a browser that signed in to the address before ask for a new link, even during a flood', async () => {
    const sent = interceptResend();
    const email = `${crypto.randomUUID()}@example.com`;
    const owner = new Browser(productionEnv(), { ip: '192.0.2.20' });
    await requestLink(owner, email);
    await owner.get('/auth/verify');
    await owner.follow(await owner.post('/auth/verify', { token: tokenOf(linkInMail(sent.at(-1)!)) }));
    expect(owner.cookies.has('__Host-usemysub_signin')).toBe(true);
    expect((await owner.post('/logout')).location).toBe('/login?notice=signed_out');

    // A flood from many addresses, one of them the owner's own (a shared office or carrier address).
    for (let i = 0; i < 12; i++) await requestLink(new Browser(productionEnv(), { ip: `198.18.2.${i + 1}` }), email);
    for (let i = 0; i < 31; i++) await requestLink(new Browser(productionEnv(), { ip: '192.0.2.20' }), `${crypto.randomUUID()}@example.com`);
    expect((await requestLink(new Browser(productionEnv(), { ip: '198.18.3.1' }), email)).status).toBe(429);

    await owner.get('/login');
    const again = await owner.post('/login', { email });
    expect(again.status).toBe(200);
    expect(sent.at(-1)?.body.to).toEqual([email]);
    // Its cookie vouches for that address only.
    await owner.get('/login');
    const other = `${crypto.randomUUID()}@example.com`;
    for (let i = 0; i < 10; i++) await requestLink(new Browser(productionEnv(), { ip: `198.18.4.${i + 1}` }), other);
    expect((await owner.post('/login', { email: other })).status).toBe(429);
  });

  it('allow 30 requests per IP in an hour, whatever the addresses', async () => {
    interceptResend();
    const ip = `198.51.100.${Math.floor(Math.random() * 150) + 1}`;
    for (let i = 0; i < 30; i++) {
      expect((await requestLink(new Browser(productionEnv(), { ip }), `${crypto.randomUUID()}@example.com`)).status).toBe(200);
    }
    expect((await requestLink(new Browser(productionEnv(), { ip }), `${crypto.randomUUID()}@example.com`)).status).toBe(429);
    expect((await requestLink(new Browser(productionEnv()), `${crypto.randomUUID()}@example.com`)).status).toBe(200);
  });

  it('ignore CF-Connecting-IP off Cloudflare (a loopback origin), where any client can set it', async () => {
    const spoofed = '192.0.2.123';
    await requestLink(new Browser(devEnv(), { ip: spoofed }), `${crypto.randomUUID()}@example.com`);
    const ipBucket = await rateLimitBucket(env.API_KEY_PEPPER, 'login-ip', spoofed);
    expect(await countRows('rate_limits', 'bucket = ?', ipBucket)).toBe(0);
    await requestLink(new Browser(productionEnv(), { ip: spoofed }), `${crypto.randomUUID()}@example.com`);
    expect(await countRows('rate_limits', 'bucket = ?', ipBucket)).toBe(1);
  });

  it('store neither the address nor the IP in clear', async () => {
    interceptResend();
    const email = `${crypto.randomUUID()}@example.com`;
    const browser = new Browser(productionEnv(), { ip: '192.0.2.77' });
    await requestLink(browser, email);
    const rows = JSON.stringify((await env.DB.prepare('SELECT * FROM rate_limits').all()).results);
    expect(rows).not.toContain(email);
    expect(rows).not.toContain('192.0.2.77');
    expect(rows).toMatch(/login-email:[0-9a-f]{64}/);
    expect(rows).toMatch(/login-ip:[0-9a-f]{64}/);
  });
});

describe('in production', () => {
  it('mails the link with Resend and shows it nowhere; known and unknown addresses get the same page', async () => {
    const sent = interceptResend();
    const known = await signIn(undefined, devEnv());
    const browser = new Browser(productionEnv({ AUTH_FROM_EMAIL: 'UseMySub <login@usemysub.com>' }));
    const csrf = csrfTokenIn((await browser.get('/login')).html);
    const forKnown = await browser.post('/login', { email: known.email }, { csrf });
    const forUnknown = await browser.post('/login', { email: `${crypto.randomUUID()}@example.com` }, { csrf });

    expect(forKnown.status).toBe(200);
    expect(forUnknown.status).toBe(200);
    const strip = (html: string, email: string) => html.replace(email, 'EMAIL');
    expect(strip(forKnown.html, known.email)).toBe(strip(forUnknown.html, /<strong>([^<]+)<\/strong>/.exec(forUnknown.html)?.[1] ?? ''));
    expect(forKnown.html).not.toContain('/auth/verify');

    expect(sent).toHaveLength(2);
    const mail = sent[0]!;
    expect(mail.url).toBe('https://api.resend.com/emails');
    expect(mail.authorization).toBe('Bearer re_test_key');
    expect(mail.idempotencyKey).toMatch(/^magic-link\/[0-9a-f]{32}$/);
    expect(mail.body.from).toBe('UseMySub <login@usemysub.com>');
    expect(mail.body.to).toEqual([known.email]);
    expect(mail.body.subject).toBe('Your UseMySub sign-in link');
    const link = linkInMail(mail);
    expect(link.startsWith('https://usemysub.com/auth/verify#token=')).toBe(true);
    expect(mail.body.html).toContain(`href="${link}"`);
    expect(JSON.stringify(mail.body)).not.toContain('re_test_key');
  });

  it('the mailed link signs in with a __Host- session cookie', async () => {
    const sent = interceptResend();
    const browser = new Browser(productionEnv());
    await requestLink(browser, `${crypto.randomUUID()}@example.com`);
    const link = linkInMail(sent[0]!);
    await confirmPage(browser, link);
    const done = await browser.post('/auth/verify', { token: tokenOf(link) });
    expect(done.status).toBe(303);
    expect(browser.cookies.has('__Host-usemysub_session')).toBe(true);
  });

  it('builds links from https://usemysub.com when PUBLIC_APP_ORIGIN is unset', async () => {
    const sent = interceptResend();
    const browser = new Browser(productionEnv({ PUBLIC_APP_ORIGIN: '' }), { origin: 'https://usemysub.com' });
    const page = await requestLink(browser, `${crypto.randomUUID()}@example.com`);
    expect(page.status).toBe(200);
    expect(linkInMail(sent[0]!).startsWith('https://usemysub.com/auth/verify#token=')).toBe(true);
  });

  it('ignores DEV_RETURN_MAGIC_LINK: a stray setting never shows links in the page', async () => {
    const sent = interceptResend();
    const browser = new Browser(productionEnv({ DEV_RETURN_MAGIC_LINK: 'true' }));
    const page = await requestLink(browser, `${crypto.randomUUID()}@example.com`);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('/auth/verify');
    expect(page.html).not.toContain('Development mode');
    expect(sent).toHaveLength(1);
  });

  it('says so when Resend refuses the mail (502), without leaking the key', async () => {
    interceptResend(() => Response.json({ statusCode: 403, name: 'validation_error', message: 'domain not verified' }, { status: 403 }));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const page = await requestLink(new Browser(productionEnv()), `${crypto.randomUUID()}@example.com`);
    expect(page.status).toBe(502);
    expect(page.html).toContain('did not accept the message');
    const logged = errors.mock.calls.map((call) => String(call[0])).join('\n');
    expect(logged).toContain('validation_error');
    expect(logged).not.toContain('re_test_key');
  });

  it('says sign-in by mail is not configured (503) when RESEND_API_KEY is missing', async () => {
    interceptResend();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const page = await requestLink(new Browser(productionEnv({ RESEND_API_KEY: '' })), `${crypto.randomUUID()}@example.com`);
    expect(page.status).toBe(503);
    expect(page.html).toContain('not configured');
  });
});

