/** The per-key limits page: reached from the key table, validated on the server, applied at once. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseCodexAuthFile } from '../../../worker/accounts/codex-auth-file.ts';
import { getKeyring, sealTokenBundle } from '../../../worker/accounts/crypto.ts';
import { replaceCodexTokens } from '../../../worker/db/codex-tokens.ts';
import { findUserByEmail } from '../../../worker/db/users.ts';
import { FakeCodexControl } from '../../support/fake-codex/control.ts';
import { callApi, signIn, type Browser } from '../helpers/browser.ts';

const fake = new FakeCodexControl(env.FAKE_CODEX_URL);

async function connectedUserWithKey(name = 'ci') {
  const { browser, email } = await signIn();
  const userId = (await findUserByEmail(env.DB, email))!.id;
  const family = await fake.createFamily();
  const bundle = parseCodexAuthFile(JSON.stringify(family.authJson));
  await replaceCodexTokens(env.DB, userId, await sealTokenBundle(await getKeyring(env.TOKEN_ENCRYPTION_KEY), userId, bundle), Date.now());
  await browser.get('/dashboard');
  const posted = await browser.post('/dashboard/keys', { name });
  const page = await browser.follow(posted);
  const key = /<code id="new-key-value" class="secret">(cpk_[A-Za-z0-9]+)<\/code>/.exec(page.html)?.[1];
  if (!key) throw new Error('no key shown');
  return { browser, userId, key };
}

function limitsLinkFor(html: string, name: string): string {
  const row = html.split('<tr>').find((part) => part.includes(`<th scope="row">${name}</th>`)) ?? '';
  const href = /href="(\/dashboard\/keys\/[^"]+\/limits)"/.exec(row)?.[1];
  if (!href) throw new Error(`no limits link for ${name}`);
  return href;
}

async function limitsPage(browser: Browser, name = 'ci') {
  const path = limitsLinkFor((await browser.get('/dashboard')).html, name);
  return { path, page: await browser.get(path) };
}

const chat = (model = 'gpt-5.5') => ({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('the limits page of a key', () => {
  it('is linked from the key table, saves the four limits, and the API obeys them from the next request', async () => {
    const { browser, key } = await connectedUserWithKey();
    const { path, page } = await limitsPage(browser);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Limits of “ci”');
    expect(page.html).toContain('0 requests, 0 tokens');
    expect(page.html).toContain('gpt-5.5');

    const nextYear = `${new Date().getUTCFullYear() + 1}-12-31`;
    const saved = await browser.post(path, { requests: '2', tokens: '1,000,000', models: 'gpt-5.5\nGPT-5.4', expires: nextYear });
    expect(saved.status).toBe(303);
    const shown = await browser.follow(saved);
    expect(shown.html).toContain('The limits were saved.');
    expect(shown.html).toContain('value="2"');
    expect(shown.html).toContain('value="1000000"');
    expect(shown.html).toContain('gpt-5.5\ngpt-5.4</textarea>');
    expect(shown.html).toContain(`value="${nextYear}"`);

    const refused = await callApi(browser, key, '/v1/chat/completions', chat('gpt-5.6-sol'));
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('model_not_allowed');
    expect((await callApi(browser, key, '/v1/chat/completions', chat())).status).toBe(200);
    expect((await callApi(browser, key, '/v1/chat/completions', chat('gpt-5.4'))).status).toBe(200);
    const over = await callApi(browser, key, '/v1/chat/completions', chat());
    expect(over.status).toBe(429);
    expect(await over.text()).toContain('limit of 2 requests per day');
    expect((await browser.get(path)).html).toContain('2 requests');

    await browser.get(path);
    const cleared = await browser.post(path, { clear: '1', requests: '2' });
    expect(cleared.status).toBe(303);
    expect((await browser.follow(cleared)).html).not.toContain('value="2"');
    expect((await callApi(browser, key, '/v1/chat/completions', chat('gpt-5.6-sol'))).status).toBe(200);
  });

  it('explains what is wrong with each field and saves nothing', async () => {
    const { browser, key } = await connectedUserWithKey();
    const { path } = await limitsPage(browser);
    const page = await browser.post(path, { requests: '0', tokens: 'lots', models: 'gpt-5.5, gpt-9-imaginary', expires: '2020-01-01' });
    expect(page.status).toBe(400);
    expect(page.html).toContain('The limits were not saved');
    expect(page.html).toContain('Enter a whole number of requests from 1 to 1,000,000');
    expect(page.html).toContain('Enter a whole number of tokens');
    expect(page.html).toContain('Your ChatGPT account has no model “gpt-9-imaginary”');
    expect(page.html).toContain('Choose today or a later date');
    // What was typed stays in the form.
    expect(page.html).toContain('value="lots"');
    const bad = await browser.post(path, { expires: '2099-02-30' });
    expect(bad.html).toContain('Enter a date as YYYY-MM-DD');
    expect((await callApi(browser, key, '/v1/chat/completions', chat('gpt-5.6-sol'))).status).toBe(200);
  });

  it('needs the form token, and shows nothing of another user\u2019s key', async () => {
    const owner = await connectedUserWithKey('private');
    const { path } = await limitsPage(owner.browser, 'private');
    expect((await owner.browser.post(path, { requests: '1' }, { csrf: null })).status).toBe(403);

    const other = await signIn();
    expect((await other.browser.get(path)).status).toBe(404);
    await other.browser.get('/dashboard');
    expect((await other.browser.post(path, { requests: '1' })).status).toBe(404);
    expect((await callApi(owner.browser, owner.key, '/v1/chat/completions', chat())).status).toBe(200);
    expect((await callApi(owner.browser, owner.key, '/v1/chat/completions', chat())).status).toBe(200);
  });
});
