/**
 * Usage over time in a real browser, against the local stack: key_usage rows written straight
 * into the stack's D1 (as the AuthBroker's batched recording leaves them) show up as bars of
 * the dashboard's charts, checked on the screenshot's pixels, with totals that match the rows,
 * on a desktop and a 390 px phone; `GET /v1/usage` and the Codex-style usage endpoint, through
 * wrangler dev and the relay, give the same figures. Another user's rows never show.
 * With UPDATE_README_SCREENSHOTS=1 the README's usage screenshots are redrawn.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { D1_DATABASE_NAME } from '../../scripts/lib/local-stack.ts';
import { PROJECT_ROOT, run } from '../../scripts/lib/processes.ts';
import type { CreatedFamily } from '../support/fake-codex/index.ts';
import { chooseChromium } from './chromium.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'usage-dashboard');
const README_SHOTS = join(PROJECT_ROOT, 'docs', 'screenshots');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The light theme's --accent, the colour of the bars. */
const BAR_RGB = [0x0b, 0x5c, 0xd5];

let stack: LocalStack;
let browser: Browser;
let page: Page;
const pageProblems: string[] = [];

interface Provisioned { email: string; key: string; userId: string; keyId: string; family: CreatedFamily }

async function sql(command: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await run('npx', ['wrangler', 'd1', 'execute', D1_DATABASE_NAME, '--local', '--persist-to', stack.persistTo, '--json', '--command', command]);
  return (JSON.parse(stdout) as { results: Record<string, unknown>[] }[]).flatMap((part) => part.results);
}

async function provision(email: string): Promise<Provisioned> {
  const family = stack.fake.state.createFamily({ planType: 'plus' });
  const authFile = join(stack.persistTo, '..', `auth-${family.accountId}.json`);
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const output = await stack.provision(['--email', email, '--auth-file', authFile]);
  const key = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
  const [row] = await sql(`SELECT users.id AS user_id, api_keys.id AS key_id FROM users JOIN api_keys ON api_keys.user_id = users.id WHERE users.email = '${email}'`);
  return { email, key, userId: String(row?.user_id), keyId: String(row?.key_id), family };
}

interface Row { at: number; requests: number; input: number; output: number; model?: string }

function insertRows(who: Provisioned, rows: Row[]): Promise<unknown> {
  const values = rows.map((r) => `('${who.userId}', '${who.keyId}', ${r.at - (r.at % HOUR)}, '${r.model ?? 'gpt-5.5'}', '', ${r.requests}, 0, ${r.input}, 0, ${r.output}, 0, 0)`);
  return sql(`INSERT INTO key_usage (user_id, key_id, hour, model, effort, requests, failed, input_tokens, cached_input_tokens,
    output_tokens, reasoning_tokens, duration_ms) VALUES ${values.join(', ')}`);
}

/** How many separate bars a row of pixels of the chart's screenshot crosses. */
async function barsInPicture(png: Buffer, y: number): Promise<number> {
  const reader = await browser.newPage();
  try {
    await reader.setContent(`<img id="shot" src="data:image/png;base64,${png.toString('base64')}">`);
    await reader.waitForFunction('document.getElementById("shot").complete');
    return await reader.evaluate(`(() => {
      const img = document.getElementById('shot');
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, ${y}, canvas.width, 1).data;
      let runs = 0, inside = false;
      for (let x = 0; x < canvas.width; x++) {
        const [r, g, b] = [data[x * 4], data[x * 4 + 1], data[x * 4 + 2]];
        const bar = Math.abs(r - ${BAR_RGB[0]}) + Math.abs(g - ${BAR_RGB[1]}) + Math.abs(b - ${BAR_RGB[2]}) < 40;
        if (bar && !inside) runs++;
        inside = bar;
      }
      return runs;
    })()`);
  } finally {
    await reader.close();
  }
}

async function readmeShot(name: string, part: Locator): Promise<void> {
  await part.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  if (process.env.UPDATE_README_SCREENSHOTS === '1') await part.screenshot({ path: join(README_SHOTS, `${name}.png`) });
}

let me: Provisioned;
let stranger: Provisioned;
const now = Date.now();
// Three hours of the last 24 with requests, and two days besides today's in the last 30.
const rows: Row[] = [
  { at: now, requests: 4, input: 4_000, output: 800 },
  { at: now, requests: 1, input: 500, output: 100, model: 'gpt-5.4' },
  { at: now - 2 * HOUR, requests: 2, input: 1_500, output: 300 },
  { at: now - 7 * HOUR, requests: 3, input: 2_500, output: 500 },
  { at: now - 4 * DAY, requests: 8, input: 9_000, output: 2_000 },
  { at: now - 12 * DAY, requests: 5, input: 3_000, output: 900 },
];
const sum = (list: Row[], f: (r: Row) => number) => list.reduce((n, r) => n + f(r), 0);
const inDay = rows.filter((r) => r.at > now - 20 * HOUR);
const dayTokens = sum(inDay, (r) => r.input + r.output);
const monthTokens = sum(rows, (r) => r.input + r.output);
const fmt = (n: number) => n.toLocaleString('en-US');

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startLocalStack();
  me = await provision('usage.chart@example.com');
  stranger = await provision('someone.else@example.com');
  await insertRows(me, rows);
  await insertRows(stranger, [{ at: now - HOUR, requests: 777, input: 777_777, output: 7 }]);
  const choice = await chooseChromium();
  browser = await chromium.launch({
    executablePath: choice.executablePath,
    env: { ...process.env, ...choice.env },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(message.text());
  });
  page.on('pageerror', (error) => pageProblems.push(error.message));
  // Sign in by magic link as the provisioned user.
  await page.goto(`${stack.workerUrl}/login`);
  await page.fill('#email', me.email);
  await page.click('button[type="submit"]');
  await page.goto((await page.getAttribute('#dev-magic-link', 'href')) ?? '');
  await page.click('button:has-text("Continue")');
  await page.waitForURL((url) => url.pathname === '/dashboard');
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 30_000);

describe('usage over time in a real browser', () => {
  it('draws a bar for each hour with requests, seen on the screenshot, and totals that match the rows', async () => {
    await page.goto(`${stack.workerUrl}/dashboard`);
    const hours = page.locator('#usage-hours');
    await expect(hours.locator('.chart-total').textContent()).resolves.toBe(`${fmt(dayTokens)} tokens, ${fmt(sum(inDay, (r) => r.requests))} requests`);
    await expect(page.locator('#usage-days .chart-total').textContent()).resolves.toBe(`${fmt(monthTokens)} tokens, ${fmt(sum(rows, (r) => r.requests))} requests`);
    const picture = await hours.locator('svg').screenshot({ path: join(ARTIFACTS, 'hours-chart.png') });
    // Just above the baseline (the plot is 120 px high): every bar, however short, crosses it.
    expect(await barsInPicture(picture, 118)).toBe(3);
    const days = new Set(rows.map((r) => Math.floor(r.at / DAY))).size;
    expect(await barsInPicture(await page.locator('#usage-days svg').screenshot(), 118)).toBe(days);
    // The key's own totals in the key table.
    const keyRow = page.locator('table.keys tbody tr').first();
    await expect(keyRow.locator('.key-day').textContent()).resolves.toContain(`${fmt(dayTokens)} tokens`);
    await expect(keyRow.locator('.key-month').textContent()).resolves.toContain(`${fmt(monthTokens)} tokens`);
    // The text alternative holds the same figures.
    await hours.locator('summary:has-text("Show as a table")').click();
    await expect(hours.locator('tbody tr').count()).resolves.toBe(3);
    expect(await page.content()).not.toContain('777,777');
    await readmeShot('usage', page.locator('section[aria-labelledby="usage-heading"]'));
  });

  it('fits a 390 px phone without sideways scrolling, the bars still drawn', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${stack.workerUrl}/dashboard`);
    await expect(page.evaluate('document.documentElement.scrollWidth')).resolves.toBeLessThanOrEqual(390);
    const box = await page.locator('#usage-hours svg').boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(await barsInPicture(await page.locator('#usage-hours svg').screenshot(), 118)).toBe(3);
    await readmeShot('phone-usage', page.locator('section[aria-labelledby="usage-heading"]'));
    await page.setViewportSize({ width: 1100, height: 800 });
  });

  it('gives the same figures over the API, and the account windows through the relay', async () => {
    const usage = await fetch(`${stack.workerUrl}/v1/usage`, { headers: { Authorization: `Bearer ${me.key}` } });
    expect(usage.status).toBe(200);
    const body = (await usage.json()) as Record<string, any>;
    expect(body.key.id).toBe(me.keyId);
    expect(body.key.usage.last_24h.total_tokens).toBe(dayTokens);
    expect(body.account.usage.last_30d).toMatchObject({ requests: sum(rows, (r) => r.requests), total_tokens: monthTokens });
    expect(body.plan).toBe('plus');
    expect(body.windows.primary).toMatchObject({ used_percent: 12, window_minutes: 300 });

    const codex = await fetch(`${stack.workerUrl}/backend-api/wham/usage`, { headers: { Authorization: `Bearer ${me.key}` } });
    expect(codex.status).toBe(200);
    expect(await codex.json()).toMatchObject({ plan_type: 'plus', rate_limit: { allowed: true, primary_window: { used_percent: 12, limit_window_seconds: 18_000 } } });
    const theirs = (await (await fetch(`${stack.workerUrl}/v1/usage`, { headers: { Authorization: `Bearer ${stranger.key}` } })).json()) as Record<string, any>;
    expect(theirs.account.usage.last_30d.requests).toBe(777);
  });

  it('saw no script error or blocked resource (the CSP holds)', () => {
    expect(pageProblems).toEqual([]);
  });
});
