/**
 * The whole web flow in a real browser (a system Chromium, else the one an npm package ships;
 * never a downloaded browser: ./chromium.ts) through playwright-core, against the local stack
 * and the fake Codex backend: sign in by magic link, connect ChatGPT with a pasted callback
 * address, create a key, use it with the openai SDK, revoke it, and see it refused. Screenshots
 * of every page go to test-artifacts/; with UPDATE_README_SCREENSHOTS=1 the README screenshots
 * in docs/screenshots/ (desktop and phone) are redrawn too (never by default, so a test run
 * leaves committed files alone).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { D1_DATABASE_NAME } from '../../scripts/lib/local-stack.ts';
import { PROJECT_ROOT, run } from '../../scripts/lib/processes.ts';
import { chooseChromium } from './chromium.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'browser-flow');
const README_SHOTS = join(PROJECT_ROOT, 'docs', 'screenshots');
const REDIRECT_URI = 'http://localhost:1455/auth/callback';

let stack: LocalStack;
let browser: Browser;
let page: Page;
/** Console errors and uncaught exceptions in the pages (CSP violations show up here too). */
const pageProblems: string[] = [];

async function shot(name: string, readme?: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  if (readme && process.env.UPDATE_README_SCREENSHOTS === '1') {
    // The README copy hides the one secret a page can show.
    await page.screenshot({ path: join(README_SHOTS, `${readme}.png`), fullPage: true, mask: [page.locator('#new-key-value')] });
  }
}

/** A phone-sized picture of one part of a page; README copies as `shot` does. */
async function phoneShot(name: string, part: Locator): Promise<void> {
  await part.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  if (process.env.UPDATE_README_SCREENSHOTS === '1') await part.screenshot({ path: join(README_SHOTS, `${name}.png`) });
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startLocalStack();
  const choice = await chooseChromium();
  console.log(`browser test: ${choice.kind} Chromium at ${choice.executablePath}`);
  // launch() gives every run a fresh, throwaway user-data directory.
  browser = await chromium.launch({
    executablePath: choice.executablePath,
    env: { ...process.env, ...choice.env },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.workerUrl });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(message.text());
  });
  page.on('pageerror', (error) => pageProblems.push(error.message));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 30_000);

/** Every row of the web tables and the foundation's, as JSON text. */
async function dumpAllTables(): Promise<string> {
  const tables = ['users', 'api_keys', 'codex_tokens', 'magic_links', 'sessions', 'oauth_states', 'device_logins', 'rate_limits'];
  const { stdout } = await run('npx', ['wrangler', 'd1', 'execute', D1_DATABASE_NAME, '--local', '--persist-to', stack.persistTo,
    '--json', '--command', tables.map((table) => `SELECT '${table}' AS tbl, * FROM ${table}`).join('; ')]);
  return stdout;
}

describe('a new user in a real browser', () => {
  const email = `browser-${Date.now()}@example.com`;
  let apiKey = '';
  let magicToken = '';
  let oauthState = '';
  let family = '';

  it('asks for a sign-in link with the keyboard alone', async () => {
    await page.goto(`${stack.workerUrl}/login`);
    await expect(page.title()).resolves.toBe('Sign in · UseMySub');
    await shot('01-login', 'login');
    // The email field has focus on arrival; Tab reaches the button, which shows a focus ring.
    // (Browser-side expressions are strings: the Node project's types have no DOM.)
    await expect(page.evaluate('document.activeElement && document.activeElement.id')).resolves.toBe('email');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    const ring = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(ring).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack.workerUrl}/login`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Check your inbox');
    await shot('02-check-inbox');
  });

  it('signs in with the link and lands on onboarding', async () => {
    const link = new URL((await page.getAttribute('#dev-magic-link', 'href')) ?? '');
    magicToken = new URLSearchParams(link.hash.slice(1)).get('token') ?? '';
    expect(magicToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.click('#dev-magic-link');
    await expect(page.locator('h1').textContent()).resolves.toBe('Finish signing in');
    // The page script took the token from the fragment and out of the address bar.
    expect(page.url()).toBe(`${stack.workerUrl}/auth/verify`);
    await expect(page.locator('#paste-link').isVisible()).resolves.toBe(false);
    await shot('03-confirm-sign-in');
    await page.click('button:has-text("Continue")');
    await page.waitForURL(`${stack.workerUrl}/onboarding`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Connect your ChatGPT account');
    await shot('04-onboarding', 'onboarding');
  });

  it('connects ChatGPT by pasting the address the ChatGPT sign-in lands on', async () => {
    const authorize = new URL((await page.getAttribute('#authorize-link', 'href')) ?? '');
    expect(authorize.searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
    const code = stack.fake.state.createAuthorizationCode({
      codeChallenge: authorize.searchParams.get('code_challenge') ?? '',
      redirectUri: REDIRECT_URI,
      planType: 'plus',
      email: 'me@chatgpt.example',
    });
    family = code.family;
    oauthState = authorize.searchParams.get('state') ?? '';
    await page.fill('#callback_url', `${REDIRECT_URI}?code=${code.code}&scope=openid&state=${authorize.searchParams.get('state')}`);
    await page.click('button:has-text("Connect")');
    await page.waitForURL(`${stack.workerUrl}/dashboard?notice=connected`);
    await expect(page.locator('.badge-ok').textContent()).resolves.toBe('Connected');
    await expect(page.locator('.facts').textContent()).resolves.toContain('me@chatgpt.example');
  });

  it('creates a key, shown once with a working copy button, and a reload creates no second key', async () => {
    await page.fill('#key_name', 'My laptop');
    await page.click('button:has-text("Create key")');
    // Post/redirect/get: the page showing the key was loaded with a GET.
    await page.waitForURL(`${stack.workerUrl}/dashboard`);
    apiKey = (await page.textContent('#new-key-value')) ?? '';
    expect(apiKey).toMatch(/^cpk_[A-Za-z0-9]{49}$/);
    await page.click('button[data-copy="new-key-value"]');
    await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(apiKey);
    await shot('05-dashboard-new-key');

    await page.reload();
    await expect(page.locator('#new-key-value').count()).resolves.toBe(0);
    await expect(page.locator('table.keys tbody tr').count()).resolves.toBe(1);
  });

  it('uses the key with the official openai SDK, and the dashboard then shows usage', async () => {
    const client = new OpenAI({ apiKey, baseURL: `${stack.workerUrl}/v1`, maxRetries: 0 });
    const response = await client.responses.create({ model: 'gpt-5.5', input: 'from the browser test' });
    expect(response.output_text).toBe('Hello from fake Codex: from the browser test');

    await page.goto(`${stack.workerUrl}/dashboard`);
    expect(await page.content()).not.toContain(apiKey);
    await expect(page.locator('.usage-limits .meter').first().textContent()).resolves.toContain('12% used');
    await expect(page.locator('table.keys tbody tr').count()).resolves.toBe(1);
    await shot('06-dashboard', 'dashboard');
  });

  it('fits a phone screen without sideways scrolling, with the Revoke button on screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/dashboard', '/onboarding']) {
      await page.goto(`${stack.workerUrl}${path}`);
      await expect(page.evaluate('document.documentElement.scrollWidth')).resolves.toBeLessThanOrEqual(390);
      await shot(`06b-phone${path.replace('/', '-')}`);
    }
    await page.goto(`${stack.workerUrl}/dashboard`);
    const revoke = page.locator('table.keys a:has-text("Revoke")');
    // Scrolled into view vertically only: a button reachable only by scrolling the table sideways is cut off.
    await page.evaluate(`window.scrollTo(0, document.querySelector('table.keys').getBoundingClientRect().top + window.scrollY - 200)`);
    const box = await revoke.boundingBox();
    expect(box, 'the Revoke button is laid out').not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    // The element under the button's centre is the button itself: nothing clips or covers it.
    const hit = await page.evaluate(`(() => { const el = document.elementFromPoint(${box!.x + box!.width / 2}, ${box!.y + box!.height / 2}); return el && el.closest('a') ? el.closest('a').textContent : null; })()`);
    expect(hit).toContain('Revoke');
    await phoneShot('phone-keys', page.locator('section[aria-labelledby="keys-heading"]'));
    await page.locator('section[aria-labelledby="use-heading"] summary:has-text("Codex CLI")').click();
    await phoneShot('phone-setup', page.locator('section[aria-labelledby="use-heading"]'));
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(`${stack.workerUrl}/dashboard`);
  });

  it('revokes the key after confirming, and the SDK then gets 401', async () => {
    await page.click('a:has-text("Revoke")');
    await expect(page.locator('h1').textContent()).resolves.toBe('Revoke “My laptop”?');
    await shot('07-revoke-confirm');
    await page.click('button:has-text("Revoke key")');
    await page.waitForURL(`${stack.workerUrl}/dashboard?notice=key_revoked`);
    await expect(page.locator('table.keys').count()).resolves.toBe(0);
    await shot('08-dashboard-revoked');

    const client = new OpenAI({ apiKey, baseURL: `${stack.workerUrl}/v1`, maxRetries: 0 });
    const error = await client.models.list().then(() => null, (err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('signs out', async () => {
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(`${stack.workerUrl}/login?notice=signed_out`);
    await page.goto(`${stack.workerUrl}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/login');
  });

  it('saw no script error or blocked resource on any page', () => {
    expect(pageProblems).toEqual([]);
  });

  it('ran wrangler dev without trying to fetch Request.cf (no offline warning)', () => {
    expect(stack.logs()).toContain('Ready on');
    expect(stack.logs()).not.toContain('Request.cf');
  });

  it('left no key, session id, token or link secret in clear in D1 or the logs', async () => {
    const info = stack.fake.state.family(family);
    const accessTokens = stack.fake.state.requests(info.accountId)
      .map((request) => request.headers.authorization?.replace(/^Bearer /, ''))
      .filter((token): token is string => Boolean(token));
    const sessionIds = (await page.context().cookies()).filter((c) => c.name.includes('session')).map((c) => c.value);
    const secrets = [apiKey, info.currentRefreshToken, ...accessTokens, ...sessionIds];
    expect(secrets.every((secret) => secret.length >= 20)).toBe(true);
    const rows = await dumpAllTables();
    expect(rows).toContain(email);
    for (const secret of [...secrets, magicToken, oauthState]) {
      expect(rows.includes(secret), 'a secret appears in D1').toBe(false);
    }
    // No log line of ours holds a secret. (The sign-in token is also kept out of request URLs, which
    // Workers Logs record, by riding in the link's fragment: test/worker/web/magic-link.test.ts.)
    for (const secret of [...secrets, magicToken, oauthState]) {
      expect(stack.logs().includes(secret), 'a secret appears in the logs').toBe(false);
    }
  }, 60_000);
});

describe('device-code sign-in in a real browser', () => {
  /** A fresh account through the magic link, in its own browser context, left on /onboarding. */
  async function newMember(options: { javaScriptEnabled: boolean }): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, javaScriptEnabled: options.javaScriptEnabled });
    const tab = await context.newPage();
    tab.on('console', (message) => {
      if (message.type() === 'error') pageProblems.push(message.text());
    });
    tab.on('pageerror', (error) => pageProblems.push(error.message));
    await tab.goto(`${stack.workerUrl}/login`);
    await tab.fill('#email', `device-${crypto.randomUUID()}@example.com`);
    await tab.click('button[type="submit"]');
    const link = (await tab.getAttribute('#dev-magic-link', 'href')) ?? '';
    await tab.goto(link);
    if (!options.javaScriptEnabled) {
      // Without script the token stays in the fragment; the page asks for the link to be pasted.
      await tab.fill('#link', link);
    }
    await tab.click('button:has-text("Continue")');
    await tab.waitForURL(`${stack.workerUrl}/onboarding`);
    return tab;
  }

  it('shows a code, and moves on to the dashboard by itself once it is approved', async () => {
    stack.fake.state.deviceAuth.settings({ interval: '1' });
    const tab = await newMember({ javaScriptEnabled: true });
    await tab.click('#device-start');
    await tab.waitForURL(`${stack.workerUrl}/onboarding`);
    const userCode = (await tab.textContent('#device-code')) ?? '';
    expect(userCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{5}$/);
    await expect(tab.getAttribute('#device-link', 'href')).resolves.toBe('https://auth.openai.com/codex/device');
    await tab.screenshot({ path: join(ARTIFACTS, '04b-onboarding-device-code.png'), fullPage: true });
    // The page has polled (through the relay) at least once while the code was pending.
    await expect.poll(() => stack.fake.state.deviceAuth.info(userCode).polls, { timeout: 10_000 }).toBeGreaterThan(0);

    const approval = stack.fake.state.deviceAuth.approve(userCode, { email: 'device@chatgpt.example' });
    await tab.waitForURL(`${stack.workerUrl}/dashboard?notice=connected`, { timeout: 15_000 });
    await expect(tab.locator('.facts').textContent()).resolves.toContain('device@chatgpt.example');
    const rows = await dumpAllTables();
    expect(rows).toContain(approval.accountId);
    expect(rows.includes(userCode), 'the device code appears in D1').toBe(false);
    await tab.context().close();
  }, 60_000);

  it('works without JavaScript: Continue polls once per press', async () => {
    const tab = await newMember({ javaScriptEnabled: false });
    await tab.click('#device-start');
    const userCode = (await tab.textContent('#device-code')) ?? '';
    await tab.click('button:has-text("I have approved it, continue")');
    await tab.waitForURL(`${stack.workerUrl}/onboarding?device=waiting`);
    await expect(tab.locator('.notice-title').first().textContent()).resolves.toBe('Not approved yet');

    stack.fake.state.deviceAuth.approve(userCode);
    // The Worker polls at most once per interval (1 s here).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await tab.click('button:has-text("I have approved it, continue")');
    await tab.waitForURL(`${stack.workerUrl}/dashboard?notice=connected`);
    await tab.context().close();
  }, 60_000);

  it('saw no script error or blocked resource', () => {
    expect(pageProblems).toEqual([]);
  });
});
