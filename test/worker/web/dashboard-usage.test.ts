/**
 * The dashboard's usage over time: a bar per hour (24 h) and per day (30 days) that had
 * requests, totals that add up the key_usage rows, a table with the same figures, the filter by
 * key and measure, each key's totals in the key table, and never another user's rows.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApiKey } from '../../../worker/accounts/api-keys.ts';
import { listApiKeys } from '../../../worker/db/api-keys.ts';
import { findUserByEmail } from '../../../worker/db/users.ts';
import { insertKeyUsage } from '../helpers/key-usage.ts';
import { signIn } from '../helpers/browser.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function signedInWithKeys(...names: string[]) {
  const signedIn = await signIn();
  const user = await findUserByEmail(env.DB, signedIn.email);
  if (!user) throw new Error('no user');
  const keys = [];
  for (const name of names) keys.push(await createApiKey(env, user.id, name));
  return { ...signedIn, userId: user.id, keys };
}

/** The part of the page between two markers. */
function between(html: string, start: string, end: string): string {
  const from = html.indexOf(start);
  expect(from, start).toBeGreaterThanOrEqual(0);
  return html.slice(from, html.indexOf(end, from));
}

const bars = (figure: string) => figure.match(/<rect class="chart-bar"/g)?.length ?? 0;
const total = (html: string, range: 'hours' | 'days') => new RegExp(`data-total="${range}">([^<]*)<`).exec(html)?.[1];
const keyRow = (html: string, name: string) => between(html, `<th scope="row">${name}</th>`, '</tr>');

describe('usage over time on the dashboard', () => {
  it('draws a bar for each hour and day with requests, with totals that add up the rows', async () => {
    const { browser, userId, keys } = await signedInWithKeys('Laptop', 'CI');
    const [laptop, ci] = keys;
    const now = Date.now();
    const stranger = await signedInWithKeys('Theirs');
    await insertKeyUsage([
      { userId, keyId: laptop!.id, at: now, requests: 2, input: 1_200, cached: 200, output: 300, reasoning: 40 },
      // The same hour, another model: one bar.
      { userId, keyId: laptop!.id, at: now, model: 'gpt-5.4', requests: 1, input: 100, output: 10 },
      { userId, keyId: ci!.id, at: now - 3 * HOUR, requests: 4, failed: 1, input: 400, output: 40 },
      { userId, keyId: laptop!.id, at: now - 10 * DAY, requests: 6, input: 6_000, output: 600 },
      { userId, keyId: ci!.id, at: now - 40 * DAY, requests: 50, input: 50_000 },
      { userId: stranger.userId, keyId: stranger.keys[0]!.id, at: now - HOUR, requests: 9_999, input: 9_999_999 },
    ]);
    const days = new Set([now, now - 3 * HOUR, now - 10 * DAY].map((t) => Math.floor(t / DAY))).size;

    const page = await browser.get('/dashboard');
    expect(page.status).toBe(200);
    const hours = between(page.html, 'id="usage-hours"', '</figure>');
    const month = between(page.html, 'id="usage-days"', '</figure>');
    expect(bars(hours)).toBe(2);
    expect(bars(month)).toBe(days);
    expect(total(page.html, 'hours')).toBe('2,050 tokens, 7 requests');
    expect(total(page.html, 'days')).toBe('8,650 tokens, 13 requests');
    // The table alternative lists the same hours with every figure.
    expect(hours).toContain('<summary>Show as a table</summary>');
    expect(hours.match(/<tr><th scope="row">\d\d:00<\/th>/g)).toHaveLength(2);
    expect(hours).toContain('<td class="num">1,300</td><td class="num">200</td><td class="num">310</td><td class="num">40</td>');
    // Each bar names its hour and figures for a pointer or a screen reader.
    expect(hours).toMatch(/<title>\d\d:00: 1,610 tokens, 3 requests<\/title>/);
    expect(page.html).not.toContain('9,999');
    // The CSP allows no inline styles: everything is drawn with attributes and the stylesheet.
    expect(page.html).not.toMatch(/\sstyle=/);

    expect(keyRow(page.html, 'Laptop')).toContain('<span class="key-tokens">1,610 tokens</span> <span class="muted small key-requests">3 requests</span>');
    expect(keyRow(page.html, 'Laptop')).toContain('<span class="key-tokens">8,210 tokens</span> <span class="muted small key-requests">9 requests</span>');
    expect(keyRow(page.html, 'CI')).toContain('<span class="key-tokens">440 tokens</span> <span class="muted small key-requests">4 requests</span>');
  });

  it('shows one key or requests instead of tokens when asked, and all keys for a key that is not the user’s', async () => {
    const { browser, userId, keys } = await signedInWithKeys('Laptop', 'CI');
    const stranger = await signedInWithKeys('Theirs');
    const now = Date.now();
    await insertKeyUsage([
      { userId, keyId: keys[0]!.id, at: now, requests: 2, input: 100, output: 10 },
      { userId, keyId: keys[1]!.id, at: now - 2 * HOUR, requests: 5, input: 500, output: 50 },
    ]);
    const one = await browser.get(`/dashboard?usage_key=${keys[1]!.id}&usage_metric=requests`);
    expect(bars(between(one.html, 'id="usage-hours"', '</figure>'))).toBe(1);
    expect(total(one.html, 'hours')).toBe('550 tokens, 5 requests');
    expect(one.html).toContain(`<option value="${keys[1]!.id}" selected="">CI</option>`);
    expect(one.html).toContain('<option value="requests" selected="">Requests</option>');
    expect(one.html).toMatch(/requests per hour for the key “CI”/);

    const foreign = await browser.get(`/dashboard?usage_key=${stranger.keys[0]!.id}`);
    expect(total(foreign.html, 'hours')).toBe('660 tokens, 7 requests');
    expect(foreign.html).not.toContain('Theirs');
  });

  it('says when there was nothing, and keeps a revoked key’s usage in the totals', async () => {
    const { browser, userId, keys } = await signedInWithKeys('Old');
    let page = await browser.get('/dashboard');
    expect(page.html).toContain('No requests in the last 24 hours.');
    expect(page.html).toContain('No requests in the last 30 days.');
    expect(page.html).not.toContain('<svg');

    await insertKeyUsage([{ userId, keyId: keys[0]!.id, at: Date.now() - 2 * DAY, requests: 1, input: 5, output: 5 }]);
    await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').bind(Date.now(), keys[0]!.id).run();
    page = await browser.get('/dashboard');
    expect(page.html).toContain('No requests in the last 24 hours.');
    expect(total(page.html, 'days')).toBe('10 tokens, 1 request');
    expect(page.html).toContain('>Old (revoked)</option>');
    expect((await listApiKeys(env.DB, userId))[0]?.revoked_at).not.toBeNull();
  });
});
