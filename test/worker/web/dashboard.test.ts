/**
 * /dashboard: connection status, usage windows, proxy keys (created once, listed, revoked),
 * the base URL and client snippets, and deleting the account.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { parse as parseToml } from 'smol-toml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseCodexAuthFile } from '../../../worker/accounts/codex-auth-file.ts';
import { getKeyring, sealTokenBundle } from '../../../worker/accounts/crypto.ts';
import { lookupStored } from '../../../worker/accounts/response-store.ts';
import { markCodexReauthRequired, replaceCodexTokens } from '../../../worker/db/codex-tokens.ts';
import { findUserByEmail } from '../../../worker/db/users.ts';
import { parseUsageBody } from '../../../worker/upstream/rate-limits.ts';
import { checkKeyName } from '../../../worker/web/dashboard.ts';
import { FakeCodexControl } from '../../support/fake-codex/control.ts';
import type { FamilyOptions } from '../../support/fake-codex/types.ts';
import { insertKeyUsage } from '../helpers/key-usage.ts';
import { callApi, csrfTokenIn, devEnv, signIn, type Browser } from '../helpers/browser.ts';

const fake = new FakeCodexControl(env.FAKE_CODEX_URL);

afterEach(() => {
  vi.restoreAllMocks();
});

async function userIdOf(email: string): Promise<string> {
  const user = await findUserByEmail(env.DB, email);
  if (!user) throw new Error('no such user');
  return user.id;
}

/** A signed-in user whose ChatGPT account (a fake token family) is connected. */
async function connectedUser(options: FamilyOptions = {}) {
  const signedIn = await signIn();
  const userId = await userIdOf(signedIn.email);
  const family = await fake.createFamily(options);
  const bundle = parseCodexAuthFile(JSON.stringify(family.authJson));
  await replaceCodexTokens(env.DB, userId, await sealTokenBundle(await getKeyring(env.TOKEN_ENCRYPTION_KEY), userId, bundle), Date.now());
  return { ...signedIn, userId, family };
}

function newKeyIn(html: string): string | null {
  return /<code id="new-key-value" class="secret">(cpk_[A-Za-z0-9]+)<\/code>/.exec(html)?.[1] ?? null;
}

/**
 * Creates a key through the dashboard form and follows the redirect, as a browser does; returns
 * the post's answer, the page it leads to and the clear key shown there.
 */
async function createKey(browser: Browser, name: string) {
  await browser.get('/dashboard');
  const posted = await browser.post('/dashboard/keys', { name });
  const page = posted.status === 303 ? await browser.follow(posted) : posted;
  return { posted, page, key: newKeyIn(page.html) };
}

function revokeLinkFor(html: string, name: string): string {
  const row = html.split('<tr>').find((part) => part.includes(`<th scope="row">${name}</th>`)) ?? '';
  const href = /href="(\/dashboard\/keys\/[^"]+\/revoke)"/.exec(row)?.[1];
  if (!href) throw new Error(`no revoke link for ${name}`);
  return href;
}

describe('the ChatGPT connection', () => {
  it('shows "Not connected" to a new user, with a button to connect', async () => {
    const { browser } = await signIn();
    const page = await browser.get('/dashboard');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Not connected');
    expect(page.html).toContain('<a class="button button-primary" href="/onboarding">Connect ChatGPT</a>');
    expect(page.html).toContain('The limits of your plan appear once a ChatGPT account is connected.');
  });

  it('shows "Connected" with the plan and the ChatGPT account email', async () => {
    const { browser } = await connectedUser({ planType: 'pro', email: 'me@chatgpt.example' });
    const page = await browser.get('/dashboard');
    expect(page.html).toContain('<span class="badge badge-ok">Connected</span>');
    expect(page.html).toContain('<dd class="capitalize">pro</dd>');
    expect(page.html).toContain('me@chatgpt.example');
  });

  it('shows "Needs reconnect" with a reconnect button when ChatGPT refused the saved login', async () => {
    const { browser, userId } = await connectedUser();
    await markCodexReauthRequired(env.DB, userId, 'refresh_token_reused', Date.now());
    const page = await browser.get('/dashboard');
    expect(page.html).toContain('<span class="badge badge-warn">Needs reconnect</span>');
    expect(page.html).toContain('<a class="button button-primary" href="/onboarding">Reconnect ChatGPT</a>');
  });
});

describe('usage windows', () => {
  it('come from the headers of the latest model response', async () => {
    const { browser, userId } = await connectedUser();
    const { key } = await createKey(browser, 'usage');
    expect((await callApi(browser, key ?? '', '/v1/responses', { model: 'gpt-5.5', input: 'hi' })).status).toBe(200);
    const page = await browser.get('/dashboard');
    expect(page.html).toContain('5-hour limit');
    expect(page.html).toContain('12% used');
    expect(page.html).toContain('Weekly limit');
    expect(page.html).toContain('34% used');
    expect(page.html).toMatch(/<progress max="100" value="12"/);
    expect(page.html).toMatch(/Resets <time datetime="\d{4}-/);
    expect((await env.AUTH_BROKER.getByName(userId).getRateLimits(userId))?.primary?.usedPercent).toBe(12);
  });

  it('come from the usage endpoint when no request has reported any, and are remembered', async () => {
    const { browser, userId, family } = await connectedUser();
    const now = Math.floor(Date.now() / 1000);
    await fake.setUsage(family.accountId, {
      plan_type: 'plus',
      rate_limit: {
        allowed: true,
        limit_reached: false,
        primary_window: { used_percent: 55, limit_window_seconds: 18_000, reset_after_seconds: 600, reset_at: now + 600 },
        secondary_window: { used_percent: 91, limit_window_seconds: 604_800, reset_after_seconds: 86_400, reset_at: now + 86_400 },
      },
      credits: { has_credits: false, unlimited: false, balance: '0' },
    });
    const page = await browser.get('/dashboard');
    expect(page.html).toContain('55% used');
    expect(page.html).toContain('91% used');
    expect(page.html).toMatch(/<progress max="100" value="91"[^>]*class="high"/);
    const remembered = await env.AUTH_BROKER.getByName(userId).getRateLimits(userId);
    expect(remembered?.secondary).toMatchObject({ usedPercent: 91, windowMinutes: 10_080, resetsAt: (now + 86_400) * 1000 });
  });

  it('are read from older usage bodies that give only seconds until the reset', () => {
    const now = 1_800_000_000_000;
    const snapshot = parseUsageBody({
      plan_type: 'pro',
      rate_limit: { primary_window: { used_percent: 7.5, limit_window_seconds: 18_000, reset_after_seconds: 90 }, secondary_window: null },
    }, now);
    expect(snapshot).toEqual({ capturedAt: now, primary: { usedPercent: 7.5, windowMinutes: 300, resetsAt: now + 90_000 }, secondary: null, credits: null, planType: 'pro' });
    expect(parseUsageBody({ detail: 'Unauthorized' }, now)).toBeNull();
    expect(parseUsageBody('nonsense', now)).toBeNull();
  });

  it('say that none were reported yet when ChatGPT gives none', async () => {
    const { browser, family } = await connectedUser();
    await fake.setRateLimits(family.accountId, {});
    await fake.setUsage(family.accountId, {
      plan_type: 'plus', rate_limit: { allowed: true, limit_reached: false, primary_window: null, secondary_window: null },
      credits: { has_credits: false, unlimited: false, balance: '0' },
    });
    expect((await browser.get('/dashboard')).html).toContain('No usage reported yet.');
  });
});

describe('proxy keys', () => {
  it('are shown once after creation, with a copy button, and then only as a hint with their dates', async () => {
    const { browser, userId } = await connectedUser();
    const { posted, page, key } = await createKey(browser, '  My   laptop ');
    expect(posted.status).toBe(303);
    expect(page.status).toBe(200);
    expect(key).toMatch(/^cpk_[A-Za-z0-9]{49}$/);
    expect(page.html).toContain('Your new key “My laptop”');
    expect(page.html).toContain('it is shown only this once');
    expect(page.html).toContain('data-copy="new-key-value"');
    expect(page.headers.get('cache-control')).toBe('no-store');

    const later = await browser.get('/dashboard');
    expect(later.html).not.toContain(key);
    const hint = `cpk_${key?.slice(4, 8)}…${key?.slice(-4)}`;
    expect(later.html).toContain(`<code>${hint}</code>`);
    expect(later.html).toContain('<th scope="row">My laptop</th>');
    expect(later.html).toContain('<span class="muted">Never</span>');

    expect((await callApi(browser, key ?? '', '/v1/models')).status).toBe(200);
    // Written with the key's usage by the broker's flush (its alarm, within a minute of the request).
    expect(await runDurableObjectAlarm(env.AUTH_BROKER.getByName(userId))).toBe(true);
    const used = await browser.get('/dashboard');
    expect(used.html).not.toContain('<span class="muted">Never</span>');
  });

  it('are created once however often the page after "Create key" is reloaded (post/redirect/get)', async () => {
    const { browser, userId } = await connectedUser();
    const { posted, page, key } = await createKey(browser, 'reloaded');
    // The post answers with a redirect to a plain GET: a reload repeats the GET, never the post.
    expect(posted.location).toBe('/dashboard');
    expect(posted.html).not.toContain('cpk_');
    expect(key).toMatch(/^cpk_/);
    expect(page.html).toContain('Your new key “reloaded”');

    const reload = await browser.get('/dashboard');
    expect(reload.status).toBe(200);
    expect(reload.html).not.toContain(key);
    expect(reload.html).not.toContain('Your new key');
    const rows = await env.DB.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ?').bind(userId).first<{ n: number }>();
    expect(rows?.n).toBe(1);
    expect((await callApi(browser, key ?? '', '/v1/models')).status).toBe(200);
  });

  it('wait for that one page load encrypted, bound to the session, and are deleted when read', async () => {
    const { browser, userId, email } = await connectedUser();
    await browser.get('/dashboard');
    const posted = await browser.post('/dashboard/keys', { name: 'flash' });
    const stored = await env.DB.prepare('SELECT * FROM key_flashes').all<Record<string, unknown>>();
    const keyRow = await env.DB.prepare('SELECT id FROM api_keys WHERE user_id = ?').bind(userId).first<{ id: string }>();
    const flash = stored.results.find((row) => row.key_id === keyRow?.id);
    expect(String(flash?.key_ciphertext)).toMatch(/^v1\./);

    // Another signed-in browser of the same user does not get it.
    const elsewhere = (await signIn(email)).browser;
    expect(newKeyIn((await elsewhere.get('/dashboard')).html)).toBeNull();

    const key = newKeyIn((await browser.follow(posted)).html);
    expect(key).toMatch(/^cpk_/);
    expect(String(flash?.key_ciphertext)).not.toContain(key);
    const left = await env.DB.prepare('SELECT COUNT(*) AS n FROM key_flashes WHERE key_id = ?').bind(keyRow?.id).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it('are not shown after the flash has expired, or once the key is revoked', async () => {
    const { browser, userId } = await connectedUser();
    await browser.get('/dashboard');
    const late = await browser.post('/dashboard/keys', { name: 'late' });
    await env.DB.prepare('UPDATE key_flashes SET expires_at = ?').bind(Date.now() - 1).run();
    expect(newKeyIn((await browser.follow(late)).html)).toBeNull();

    const revoked = await browser.post('/dashboard/keys', { name: 'revoked' });
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND name = 'revoked'").bind(Date.now(), userId).run();
    expect(newKeyIn((await browser.follow(revoked)).html)).toBeNull();
  });

  it('need a name of at most 64 characters', async () => {
    const { browser } = await connectedUser();
    const empty = await createKey(browser, '   ');
    expect(empty.posted.status).toBe(400);
    expect(empty.page.status).toBe(400);
    expect(empty.key).toBeNull();
    expect(empty.page.html).toContain('Give the key a name');
    const long = await createKey(browser, 'x'.repeat(65));
    expect(long.page.status).toBe(400);
    expect(long.page.html).toContain('Use at most 64 characters.');
    expect(checkKeyName('tab\there')).toEqual({ ok: true, name: 'tab here' });
    expect(checkKeyName('bell\u0007')).toMatchObject({ ok: false });
  });

  it('can be created without a ChatGPT connection (it is needed only to answer requests)', async () => {
    const { browser } = await signIn();
    const { key } = await createKey(browser, 'early');
    const res = await callApi(browser, key ?? '', '/v1/responses', { model: 'gpt-5.5', input: 'hi' });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('codex_reauth_required');
  });

  it('are revoked only after a confirmation page, and then get 401 at once', async () => {
    const { browser } = await connectedUser();
    const { key } = await createKey(browser, 'ci');
    const dashboard = await browser.get('/dashboard');
    const confirm = await browser.get(revokeLinkFor(dashboard.html, 'ci'));
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Revoke “ci”?');
    expect(confirm.html).toContain('stop working at once');
    expect((await callApi(browser, key ?? '', '/v1/models')).status).toBe(200);

    const done = await browser.post(revokeLinkFor(dashboard.html, 'ci'));
    expect(done.status).toBe(303);
    expect((await browser.follow(done)).html).toContain('The key was revoked.');
    const res = await callApi(browser, key ?? '', '/v1/models');
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('invalid_api_key');
    expect((await browser.get('/dashboard')).html).toContain('Revoked keys (1)');
  });

  it('of another user can be neither seen nor revoked', async () => {
    const owner = await connectedUser();
    const { key } = await createKey(owner.browser, 'private');
    const path = revokeLinkFor((await owner.browser.get('/dashboard')).html, 'private');

    const other = await signIn();
    expect((await other.browser.get(path)).status).toBe(404);
    await other.browser.get('/dashboard');
    expect((await other.browser.post(path)).status).toBe(404);
    expect((await callApi(owner.browser, key ?? '', '/v1/models')).status).toBe(200);
  });
});

describe('using the API', () => {
  /** The text of a copy block, as a user copies it. */
  function copyText(html: string, id: string): string {
    const raw = new RegExp(`<code id="${id}"[^>]*>([\\s\\S]*?)</code>`).exec(html)?.[1];
    if (raw === undefined) throw new Error(`no copy block ${id}`);
    return raw.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
  }

  async function dashboardAt(origin: string): Promise<string> {
    const { browser } = await signIn(undefined, devEnv({ PUBLIC_APP_ORIGIN: origin }));
    return (await browser.get('/dashboard')).html;
  }

  it('shows the base URL from PUBLIC_APP_ORIGIN and code for curl, the openai SDKs and the AI SDK', async () => {
    const html = await dashboardAt('http://localhost:8787/');
    expect(copyText(html, 'base-url')).toBe('http://localhost:8787/v1');
    expect(copyText(html, 'snippet-curl')).toContain('curl http://localhost:8787/v1/responses');
    expect(copyText(html, 'snippet-python')).toContain('from openai import OpenAI');
    expect(copyText(html, 'snippet-node')).toContain("import OpenAI from 'openai';");
    expect(copyText(html, 'snippet-ai-sdk')).toContain("createOpenAICompatible({ name: 'usemysub', baseURL: 'http://localhost:8787/v1'");
    expect(copyText(html, 'snippet-generic')).toContain('OPENAI_BASE_URL=http://localhost:8787/v1');
    for (const id of ['base-url', 'snippet-curl', 'snippet-python', 'snippet-node', 'snippet-ai-sdk', 'snippet-generic']) {
      expect(html).toContain(`data-copy="${id}"`);
    }
  });

  it('names the key variable USEMYSUB_API_KEY everywhere', async () => {
    const html = await dashboardAt('http://127.0.0.1:9911');
    for (const id of ['snippet-curl', 'snippet-python', 'snippet-node', 'snippet-ai-sdk', 'snippet-codex', 'snippet-opencode']) {
      expect(copyText(html, id), id).toContain('USEMYSUB_API_KEY');
    }
    expect(html).not.toMatch(/USEMYSUB_KEY\b/);
  });

  it('gives a Codex CLI config.toml provider block that parses, with the base URL filled in', async () => {
    const config = parseToml(copyText(await dashboardAt('http://127.0.0.1:9911'), 'snippet-codex'));
    expect(config.model_provider).toBe('usemysub');
    expect(config.model).toBe('gpt-5.5');
    expect(config.model_providers).toEqual({
      usemysub: { name: 'UseMySub', base_url: 'http://127.0.0.1:9911/v1', wire_api: 'responses', env_key: 'USEMYSUB_API_KEY' },
    });
  });

  it('gives opencode and Continue configs that parse, and Cursor and Cline settings, each with the base URL', async () => {
    const html = await dashboardAt('http://[::1]:8787');
    const opencode = JSON.parse(copyText(html, 'snippet-opencode')) as { provider: Record<string, { npm: string; options: Record<string, string>; models: object }> };
    expect(opencode.provider.usemysub).toMatchObject({
      npm: '@ai-sdk/openai-compatible',
      options: { baseURL: 'http://[::1]:8787/v1', apiKey: '{env:USEMYSUB_API_KEY}' },
    });
    expect(Object.keys(opencode.provider.usemysub?.models ?? {})).toEqual(['gpt-5.5']);
    const continueConfig = parseYaml(copyText(html, 'snippet-continue')) as { models: Record<string, string>[] };
    expect(continueConfig.models[0]).toMatchObject({ provider: 'openai', model: 'gpt-5.5', apiBase: 'http://[::1]:8787/v1' });
    for (const id of ['snippet-cursor', 'snippet-cline']) {
      expect(copyText(html, id), id).toContain('Base URL: http://[::1]:8787/v1');
      expect(copyText(html, id), id).toContain('gpt-5.5');
    }
    for (const label of ['Codex CLI', 'opencode', 'Cursor', 'Continue', 'Cline', 'Vercel AI SDK']) {
      expect(html).toContain(`<summary>${label}</summary>`);
    }
  });
});

describe('deleting the account', () => {
  it('needs the account email typed, then removes tokens, keys and sessions; the keys get 401', async () => {
    const { browser, userId, email } = await connectedUser();
    const { key } = await createKey(browser, 'doomed');
    // A second key whose page was never loaded: its flash must go with the account too.
    expect((await browser.post('/dashboard/keys', { name: 'unseen' })).status).toBe(303);
    const store = env.RESPONSE_STORE.getByName(userId);
    await store.saveToolReasoning(userId, ['call_doomed'], [{ type: 'reasoning', summary: [], encrypted_content: 'gAAAA' }]);
    const storedCall = { previousResponseId: null, itemIds: [], callIds: ['call_doomed'] };
    expect(Object.keys((await lookupStored(env, userId, storedCall)).toolReasoning)).toEqual(['call_doomed']);
    await insertKeyUsage([{ userId, keyId: 'key_doomed', at: Date.now(), requests: 3, input: 30 }]);
    const confirm = await browser.get('/account/delete');
    expect(confirm.html).toContain('your 2 API keys');
    expect(confirm.html).toContain('their usage history');
    expect(confirm.html).toContain('your ChatGPT connection (the stored tokens)');

    const wrong = await browser.post('/account/delete', { confirm_email: 'someone@example.com' });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('That is not the email address of this account.');
    expect(await findUserByEmail(env.DB, email)).not.toBeNull();

    const done = await browser.post('/account/delete', { confirm_email: email.toUpperCase() }, { csrf: csrfTokenIn(confirm.html) });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/login?notice=account_deleted');
    for (const table of ['users WHERE id = ?', 'api_keys WHERE user_id = ?', 'key_usage WHERE user_id = ?', 'codex_tokens WHERE user_id = ?', 'sessions WHERE user_id = ?', 'oauth_states WHERE user_id = ?',
      'key_flashes WHERE key_id IN (SELECT id FROM api_keys WHERE user_id = ?) OR session_hash NOT IN (SELECT id_hash FROM sessions)']) {
      const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).bind(userId).first<{ n: number }>();
      expect(row?.n, table).toBe(0);
    }
    expect((await callApi(browser, key ?? '', '/v1/models')).status).toBe(401);
    // The user's AuthBroker keeps nothing either (no usage snapshot, no pending tokens).
    const leftovers = await runInDurableObject(env.AUTH_BROKER.getByName(userId), (_broker, state) => [...state.storage.kv.list()]);
    expect(leftovers).toEqual([]);
    // Nor does their response store.
    expect((await lookupStored(env, userId, storedCall)).toolReasoning).toEqual({});
    expect((await browser.get('/dashboard')).location).toBe('/login');
    expect((await browser.get('/login?notice=account_deleted')).html).toContain('Your account, your ChatGPT connection and all your keys have been deleted.');
  });
});
