/**
 * /onboarding: the ChatGPT sign-in link (PKCE, state kept server-side), the pasted callback
 * address and each way it can go wrong, the code exchange through the relay, encrypted storage,
 * reconnecting, and the auth.json alternative.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApiKey } from '../../../worker/accounts/api-keys.ts';
import { decryptTokenBundle, getKeyring } from '../../../worker/accounts/crypto.ts';
import { markCodexReauthRequired, readCodexTokens } from '../../../worker/db/codex-tokens.ts';
import { findUserByEmail } from '../../../worker/db/users.ts';
import { OAUTH_CLIENT_ID, OAUTH_REDIRECT_URI } from '../../../worker/upstream/oauth.ts';
import { parsePastedCallback } from '../../../worker/web/callback-url.ts';
import { hashSecret } from '../../../worker/web/secrets.ts';
import { FakeCodexControl } from '../../support/fake-codex/control.ts';
import { callApi, signIn, type Browser } from '../helpers/browser.ts';

const fake = new FakeCodexControl(env.FAKE_CODEX_URL);

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** The ChatGPT sign-in URL the page links to. */
function authorizeUrlIn(html: string): URL {
  const href = /<a class="button button-primary" href="([^"]+)" target="_blank" rel="noopener noreferrer" id="authorize-link"/.exec(html)?.[1];
  if (!href) throw new Error('no sign-in link on the page');
  return new URL(href.replaceAll('&amp;', '&'));
}

/** What ChatGPT would do after the user signs in: a code for the page's PKCE challenge, and the address the browser lands on. */
async function landOnCallback(html: string, options: { planType?: string; email?: string } = {}) {
  const authorize = authorizeUrlIn(html);
  const created = await fake.createAuthorizationCode({
    codeChallenge: authorize.searchParams.get('code_challenge') ?? '',
    redirectUri: OAUTH_REDIRECT_URI,
    ...options,
  });
  const callback = `${OAUTH_REDIRECT_URI}?code=${created.code}&state=${authorize.searchParams.get('state')}`;
  return { ...created, callback, state: authorize.searchParams.get('state') ?? '' };
}

async function userIdOf(email: string): Promise<string> {
  const user = await findUserByEmail(env.DB, email);
  if (!user) throw new Error('no such user');
  return user.id;
}

async function connect(browser: Browser, options: { planType?: string; email?: string } = {}) {
  const page = await browser.get('/onboarding');
  const landed = await landOnCallback(page.html, options);
  const done = await browser.post('/onboarding/callback', { callback_url: landed.callback });
  return { page, landed, done };
}

/** A model request with a fresh proxy key of the user, through the whole Worker. */
async function modelRequest(browser: Browser, userId: string): Promise<Response> {
  const key = await createApiKey(env, userId, 'test');
  return callApi(browser, key.key, '/v1/responses', { model: 'gpt-5.5', input: 'hello' });
}

describe('the sign-in link', () => {
  it('asks ChatGPT for a PKCE (S256) code for the Codex CLI client and its localhost:1455 callback', async () => {
    const { landing } = await signIn();
    const url = authorizeUrlIn(landing.html);
    expect(url.origin + url.pathname).toBe('https://auth.openai.com/oauth/authorize');
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(OAUTH_CLIENT_ID);
    expect(q.get('redirect_uri')).toBe('http://localhost:1455/auth/callback');
    expect(q.get('scope')).toBe('openid profile email offline_access');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('id_token_add_organizations')).toBe('true');
    expect(q.get('codex_cli_simplified_flow')).toBe('true');
    expect(q.get('originator')).toBe('codex_cli_rs');
  });

  it('is fresh on every visit, its state stored only hashed and its verifier only encrypted, for 15 minutes', async () => {
    const { browser, landing, email } = await signIn();
    const second = await browser.get('/onboarding');
    const [a, b] = [authorizeUrlIn(landing.html), authorizeUrlIn(second.html)];
    expect(a.searchParams.get('state')).not.toBe(b.searchParams.get('state'));

    const state = a.searchParams.get('state') ?? '';
    const row = await env.DB.prepare('SELECT * FROM oauth_states WHERE state_hash = ?').bind(await hashSecret(state)).first<Record<string, unknown>>();
    expect(row?.user_id).toBe(await userIdOf(email));
    expect(String(row?.verifier_ciphertext)).toMatch(/^v1\.[0-9a-f]{8}\./);
    expect(JSON.stringify(row)).not.toContain(state);
    expect(Number(row?.expires_at) - Number(row?.created_at)).toBe(15 * 60_000);
  });
});

describe('sign-ins started and never finished', () => {
  it('are kept only for the 5 latest visits per user, and the latest still connects', async () => {
    const { browser, email } = await signIn();
    const userId = await userIdOf(email);
    const pages = [];
    for (let i = 0; i < 12; i++) pages.push(await browser.get('/onboarding'));
    const rows = await env.DB.prepare('SELECT COUNT(*) AS n FROM oauth_states WHERE user_id = ?').bind(userId).first<{ n: number }>();
    expect(rows?.n).toBe(5);

    const oldest = await landOnCallback(pages[0]!.html);
    const refused = await browser.post('/onboarding/callback', { callback_url: oldest.callback });
    expect(refused.html).toContain('belongs to a different sign-in');
    const latest = await landOnCallback(pages.at(-1)!.html);
    const done = await browser.post('/onboarding/callback', { callback_url: latest.callback });
    expect(done.status).toBe(303);
    expect(await readCodexTokens(env.DB, userId)).not.toBeNull();
  });
});

describe('pasting the callback address', () => {
  it('connects the account: tokens stored encrypted, account, plan and email read from the id token, verifier deleted', async () => {
    const { browser, email } = await signIn();
    const { landed, done } = await connect(browser, { planType: 'pro', email: 'chatgpt-user@example.com' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/dashboard?notice=connected');

    const userId = await userIdOf(email);
    const row = await readCodexTokens(env.DB, userId);
    expect(row).toMatchObject({ account_id: landed.accountId, plan_type: 'pro', account_email: 'chatgpt-user@example.com', status: 'active' });
    const bundle = await decryptTokenBundle(await getKeyring(env.TOKEN_ENCRYPTION_KEY), userId, row?.ciphertext ?? '');
    expect(bundle.accountId).toBe(landed.accountId);
    expect(row?.ciphertext).not.toContain(bundle.refreshToken);
    expect(bundle.expiresAt).toBeGreaterThan(Date.now());

    const state = await env.DB.prepare('SELECT * FROM oauth_states WHERE state_hash = ?').bind(await hashSecret(landed.state)).first<Record<string, unknown>>();
    expect(state?.verifier_ciphertext).toBeNull();
    expect(state?.used_at).not.toBeNull();

    const dashboard = await browser.follow(done);
    expect(dashboard.html).toContain('Your ChatGPT account is connected.');
    expect(dashboard.html).toContain('chatgpt-user@example.com');
  });

  it('exchanges the code through the relay with the verifier, and the link then serves model requests', async () => {
    const { browser, email } = await signIn();
    const { landed } = await connect(browser);
    const res = await modelRequest(browser, await userIdOf(email));
    expect(res.status).toBe(200);
    expect((await fake.requests(landed.accountId)).length).toBe(1);
  });

  it('accepts the address without its scheme, or only its query string, with spaces around', () => {
    expect(parsePastedCallback('  localhost:1455/auth/callback?code=c1&state=s1 ')).toEqual({ kind: 'ok', code: 'c1', state: 's1' });
    expect(parsePastedCallback('?code=c2&state=s2')).toEqual({ kind: 'ok', code: 'c2', state: 's2' });
    expect(parsePastedCallback('code=c3&scope=x&state=s3')).toEqual({ kind: 'ok', code: 'c3', state: 's3' });
    expect(parsePastedCallback('http://localhost:1455/auth/callback?error=access_denied&error_description=User%20cancelled'))
      .toEqual({ kind: 'denied', error: 'access_denied', description: 'User cancelled' });
    expect(parsePastedCallback('http://localhost:1455/auth/callback?state=s')).toEqual({ kind: 'unreadable', reason: 'no_code' });
    expect(parsePastedCallback('http://localhost:1455/auth/callback?code=c')).toEqual({ kind: 'unreadable', reason: 'no_state' });
    expect(parsePastedCallback('hello there')).toEqual({ kind: 'unreadable', reason: 'not_a_url' });
    expect(parsePastedCallback('   ')).toEqual({ kind: 'unreadable', reason: 'empty' });
  });

  it('explains what to paste when the text is not the callback address', async () => {
    const { browser } = await signIn();
    await browser.get('/onboarding');
    const page = await browser.post('/onboarding/callback', { callback_url: 'https://chatgpt.com/' });
    expect(page.status).toBe(400);
    expect(page.html).toContain('That is not the address we need');
    expect(page.html).toContain('role="alert"');
    expect(page.html).toContain('value="https://chatgpt.com/"');
    expect(authorizeUrlIn(page.html).searchParams.get('state')).toBeTruthy();
  });

  it('reports a cancelled ChatGPT sign-in as such', async () => {
    const { browser } = await signIn();
    await browser.get('/onboarding');
    const page = await browser.post('/onboarding/callback', {
      callback_url: `${OAUTH_REDIRECT_URI}?error=access_denied&error_description=The+user+cancelled`,
    });
    expect(page.status).toBe(400);
    expect(page.html).toContain('The ChatGPT sign-in was cancelled or refused: The user cancelled');
  });

  it('refuses a state this user did not start (made up, or another user’s) with a mismatch message', async () => {
    const victim = await signIn();
    const victimPage = await victim.browser.get('/onboarding');
    const stolen = await landOnCallback(victimPage.html);

    const attacker = await signIn();
    await attacker.browser.get('/onboarding');
    for (const callback of [stolen.callback, `${OAUTH_REDIRECT_URI}?code=${stolen.code}&state=${'Z'.repeat(43)}`]) {
      const page = await attacker.browser.post('/onboarding/callback', { callback_url: callback });
      expect(page.status).toBe(400);
      expect(page.html).toContain('That address belongs to a different sign-in than the one started here');
    }
    expect(await readCodexTokens(env.DB, await userIdOf(attacker.email))).toBeNull();
    // The victim's own sign-in was not spent by the attempt.
    const own = await victim.browser.post('/onboarding/callback', { callback_url: stolen.callback });
    expect(own.status).toBe(303);
  });

  it('refuses a sign-in older than 15 minutes with an expiry message', async () => {
    const { browser } = await signIn();
    const page = await browser.get('/onboarding');
    const landed = await landOnCallback(page.html);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 15 * 60_000 + 1_000);
    const late = await browser.post('/onboarding/callback', { callback_url: landed.callback });
    expect(late.status).toBe(400);
    expect(late.html).toContain('That sign-in took longer than 15 minutes and has expired.');
  });

  it('refuses the same address a second time with an "already used" message', async () => {
    const { browser } = await signIn();
    const { landed, done } = await connect(browser);
    expect(done.status).toBe(303);
    await browser.get('/onboarding');
    const again = await browser.post('/onboarding/callback', { callback_url: landed.callback });
    expect(again.status).toBe(400);
    expect(again.html).toContain('That address was already used.');
  });

  it('says so when ChatGPT refuses the code, and offers a new sign-in link', async () => {
    const { browser } = await signIn();
    const page = await browser.get('/onboarding');
    const state = authorizeUrlIn(page.html).searchParams.get('state');
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const refused = await browser.post('/onboarding/callback', { callback_url: `${OAUTH_REDIRECT_URI}?code=ac_unknown&state=${state}` });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('ChatGPT did not accept the sign-in code');
    expect(authorizeUrlIn(refused.html).searchParams.get('state')).not.toBe(state);
  });

  it('says ChatGPT could not be reached (502) when the relay is down', async () => {
    const { browser } = await signIn();
    const page = await browser.get('/onboarding');
    const landed = await landOnCallback(page.html);
    const offline = browser.withEnv({ CODEX_RELAY_URL: 'http://127.0.0.1:9' });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const failed = await offline.post('/onboarding/callback', { callback_url: landed.callback });
    expect(failed.status).toBe(502);
    expect(failed.html).toContain('ChatGPT could not be reached');
  });
});

describe('reconnecting', () => {
  it('replaces the tokens, clears "needs reconnect", and the AuthBroker uses the new account at once', async () => {
    const { browser, email } = await signIn();
    const userId = await userIdOf(email);
    const first = await connect(browser);
    expect((await modelRequest(browser, userId)).status).toBe(200);
    await markCodexReauthRequired(env.DB, userId, 'refresh_token_reused', Date.now());
    const flagged = await browser.get('/dashboard');
    expect(flagged.html).toContain('Needs reconnect');
    expect((await browser.get('/onboarding')).html).toContain('Your ChatGPT connection needs to be renewed');

    const second = await connect(browser);
    expect(second.done.status).toBe(303);
    const row = await readCodexTokens(env.DB, userId);
    expect(row).toMatchObject({ account_id: second.landed.accountId, status: 'active', status_reason: null });
    expect((await modelRequest(browser, userId)).status).toBe(200);
    expect((await fake.requests(second.landed.accountId)).length).toBe(1);
    expect((await fake.requests(first.landed.accountId)).length).toBe(1);
    expect((await browser.get('/dashboard')).html).toContain('Connected');
  });
});

describe('the auth.json alternative', () => {
  it('connects with pasted auth.json contents', async () => {
    const { browser, email } = await signIn();
    const family = await fake.createFamily({ planType: 'team' });
    await browser.get('/onboarding');
    const form = new FormData();
    form.set('auth_json', JSON.stringify(family.authJson));
    const done = await browser.post('/onboarding/auth-json', {}, { multipart: form });
    expect(done.status).toBe(303);
    expect(await readCodexTokens(env.DB, await userIdOf(email))).toMatchObject({ account_id: family.accountId, plan_type: 'team' });
  });

  it('connects with an uploaded auth.json file', async () => {
    const { browser, email } = await signIn();
    const family = await fake.createFamily();
    await browser.get('/onboarding');
    const form = new FormData();
    form.set('auth_json', '');
    form.set('auth_file', new File([JSON.stringify(family.authJson)], 'auth.json', { type: 'application/json' }));
    const done = await browser.post('/onboarding/auth-json', {}, { multipart: form });
    expect(done.status).toBe(303);
    expect((await readCodexTokens(env.DB, await userIdOf(email)))?.account_id).toBe(family.accountId);
  });

  it('explains why an API-key login or broken JSON cannot be used', async () => {
    const { browser } = await signIn();
    await browser.get('/onboarding');
    const apiKeyOnly = new FormData();
    apiKeyOnly.set('auth_json', JSON.stringify({ OPENAI_API_KEY: 'sk-test', tokens: null }));
    const refused = await browser.post('/onboarding/auth-json', {}, { multipart: apiKeyOnly });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('API-key login');
    expect(refused.html).toContain('<details class="card alternative" open="">');
    expect(refused.html).not.toContain('sk-test');

    const broken = new FormData();
    broken.set('auth_json', '{not json');
    expect((await browser.post('/onboarding/auth-json', {}, { multipart: broken })).html).toContain('not valid JSON');
  });
});

describe('one ChatGPT account, one user', () => {
  async function postAuthJson(browser: Browser, authJson: unknown) {
    await browser.get('/onboarding');
    const form = new FormData();
    form.set('auth_json', JSON.stringify(authJson));
    return browser.post('/onboarding/auth-json', {}, { multipart: form });
  }

  it('refuses an auth.json of an account another user linked (409), and leaves both users as they were', async () => {
    const first = await signIn();
    const family = await fake.createFamily();
    expect((await postAuthJson(first.browser, family.authJson)).status).toBe(303);

    const second = await signIn();
    const refused = await postAuthJson(second.browser, family.authJson);
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('This ChatGPT account is already connected to another UseMySub account');
    expect(refused.html).not.toContain(first.email);
    expect(await readCodexTokens(env.DB, await userIdOf(second.email))).toBeNull();
    expect((await readCodexTokens(env.DB, await userIdOf(first.email)))?.account_id).toBe(family.accountId);
  });

  it('refuses the pasted sign-in of an account another user linked', async () => {
    const first = await signIn();
    const { landed } = await connect(first.browser);

    const second = await signIn();
    const page = await second.browser.get('/onboarding');
    const authorize = authorizeUrlIn(page.html);
    const code = await fake.createAuthorizationCode({
      family: landed.family,
      codeChallenge: authorize.searchParams.get('code_challenge') ?? '',
      redirectUri: OAUTH_REDIRECT_URI,
    });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const refused = await second.browser.post('/onboarding/callback', {
      callback_url: `${OAUTH_REDIRECT_URI}?code=${code.code}&state=${authorize.searchParams.get('state')}`,
    });
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('already connected to another UseMySub account');
    expect(await readCodexTokens(env.DB, await userIdOf(second.email))).toBeNull();
  });

  it('lets the same user link the same account again', async () => {
    const { browser, email } = await signIn();
    const family = await fake.createFamily();
    expect((await postAuthJson(browser, family.authJson)).status).toBe(303);
    const before = await readCodexTokens(env.DB, await userIdOf(email));
    expect((await postAuthJson(browser, family.authJson)).status).toBe(303);
    expect((await readCodexTokens(env.DB, await userIdOf(email)))?.version).toBe((before?.version ?? 0) + 1);
  });

  it('is guarded by a unique index, whatever writes the row', async () => {
    const [a, b] = [await signIn(), await signIn()];
    const family = await fake.createFamily();
    expect((await postAuthJson(a.browser, family.authJson)).status).toBe(303);
    const write = env.DB.prepare(
      `INSERT INTO codex_tokens (user_id, ciphertext, account_id, updated_at) VALUES (?, 'x', ?, 0)`,
    ).bind(await userIdOf(b.email), family.accountId).run();
    await expect(write).rejects.toThrow(/UNIQUE constraint failed: codex_tokens\.account_id/);
  });
});

describe('device-code sign-in', () => {
  const DEVICE_COOKIE = 'usemysub_device';

  /** The code the page shows. */
  function userCodeIn(html: string): string {
    const code = /<code id="device-code">([^<]+)<\/code>/.exec(html)?.[1];
    if (!code) throw new Error('no device code on the page');
    return code;
  }

  /** Presses "Get a sign-in code" and follows to the page that shows it. */
  async function startDevice(browser: Browser) {
    await browser.get('/onboarding');
    const started = await browser.post('/onboarding/device');
    expect(started.status).toBe(303);
    expect(started.location).toBe('/onboarding');
    const page = await browser.follow(started);
    return { page, userCode: userCodeIn(page.html) };
  }

  /** What the page's script does every interval. */
  async function poll(browser: Browser): Promise<{ state: string; redirect?: string; retryAfterMs?: number }> {
    const answer = await browser.post('/onboarding/device/poll', {}, { accept: 'application/json' });
    expect(answer.status).toBe(200);
    return JSON.parse(answer.html) as { state: string; redirect?: string; retryAfterMs?: number };
  }

  /** Moves the Worker's clock past the poll interval the fake hands out (5 s). */
  function later(ms = 5_100): void {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + ms);
  }

  it('shows the code and the link; the code is stored only encrypted, the login id only hashed, for 15 minutes', async () => {
    const { browser, email } = await signIn();
    const { page, userCode } = await startDevice(browser);
    expect(userCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{5}$/);
    expect(page.html).toContain('href="https://auth.openai.com/codex/device"');
    expect(page.html).toContain('id="device-poll"');
    expect(page.html).toContain(`src="/assets/app.`);

    const loginId = browser.cookies.get(DEVICE_COOKIE) ?? '';
    expect(loginId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await env.DB.prepare('SELECT * FROM device_logins WHERE login_hash = ?').bind(await hashSecret(loginId)).first<Record<string, unknown>>();
    expect(row?.user_id).toBe(await userIdOf(email));
    expect(String(row?.secret_ciphertext)).toMatch(/^v1\.[0-9a-f]{8}\./);
    expect(JSON.stringify(row)).not.toContain(userCode);
    expect(JSON.stringify(row)).not.toContain(loginId);
    expect(Number(row?.expires_at) - Number(row?.created_at)).toBe(15 * 60_000);
  });

  it('is bound to the browser that started it: another session of the same user, or another user with the cookie, sees no code', async () => {
    const { browser, email } = await signIn();
    const { userCode } = await startDevice(browser);
    const sameUser = await signIn(email);
    expect((await sameUser.browser.get('/onboarding')).html).not.toContain(userCode);
    const other = await signIn();
    other.browser.cookies.set(DEVICE_COOKIE, browser.cookies.get(DEVICE_COOKIE) ?? '');
    expect((await other.browser.get('/onboarding')).html).not.toContain(userCode);
    expect((await poll(other.browser)).state).toBe('failed');
  });

  it('waits while ChatGPT answers 403 or 404, connects once approved, and the page moves on to the dashboard', async () => {
    const { browser, email } = await signIn();
    const { userCode } = await startDevice(browser);

    expect(await poll(browser)).toEqual({ state: 'pending', retryAfterMs: 5_000 });
    later();
    await fake.setDevicePendingStatus(userCode, 404);
    expect((await poll(browser)).state).toBe('pending');
    expect((await fake.deviceCode(userCode)).polls).toBe(2);

    const approval = await fake.approveDeviceCode(userCode, { planType: 'pro' });
    later();
    // The fake's code exchange demands redirect_uri https://auth.openai.com/deviceauth/callback and the verifier it made.
    expect(await poll(browser)).toEqual({ state: 'connected', redirect: '/dashboard?notice=connected' });
    const userId = await userIdOf(email);
    expect(await readCodexTokens(env.DB, userId)).toMatchObject({ account_id: approval.accountId, plan_type: 'pro', status: 'active' });
    expect(browser.cookies.has(DEVICE_COOKIE)).toBe(false);
    vi.useRealTimers();
    expect((await modelRequest(browser, userId)).status).toBe(200);
  });

  it('asks ChatGPT at most once per interval, however often the page asks', async () => {
    const { browser } = await signIn();
    const { userCode } = await startDevice(browser);
    await poll(browser);
    const second = await poll(browser);
    expect(second.state).toBe('pending');
    expect(second.retryAfterMs).toBeGreaterThan(0);
    expect((await fake.deviceCode(userCode)).polls).toBe(1);
  });

  it('works without script: the Continue button polls once and comes back until the code is approved', async () => {
    const { browser } = await signIn();
    const { userCode } = await startDevice(browser);
    const waiting = await browser.post('/onboarding/device/poll');
    expect(waiting.status).toBe(303);
    expect(waiting.location).toBe('/onboarding?device=waiting');
    const again = await browser.follow(waiting);
    expect(again.html).toContain('Not approved yet');
    expect(userCodeIn(again.html)).toBe(userCode);

    await fake.approveDeviceCode(userCode);
    later();
    const done = await browser.post('/onboarding/device/poll');
    expect(done.status).toBe(303);
    expect(done.location).toBe('/dashboard?notice=connected');
  });

  it('says the code expired when ChatGPT ends it, and offers a new one', async () => {
    const { browser } = await signIn();
    const { userCode } = await startDevice(browser);
    await fake.expireDeviceCode(userCode);
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await poll(browser)).toEqual({ state: 'failed', redirect: '/onboarding' });
    const page = await browser.get('/onboarding');
    expect(page.status).toBe(400);
    expect(page.html).toContain('That sign-in code expired');
    expect(page.html).toContain('id="device-start"');
    expect(page.html).not.toContain(userCode);
  });

  it('gives up by its own clock after 15 minutes, without asking ChatGPT again', async () => {
    const { browser } = await signIn();
    const { userCode } = await startDevice(browser);
    later(15 * 60_000 + 1_000);
    expect((await poll(browser)).state).toBe('failed');
    expect((await fake.deviceCode(userCode)).polls).toBe(0);
    expect((await browser.get('/onboarding')).html).toContain('That sign-in code expired');
  });

  it('says when ChatGPT has device-code sign-in switched off (404), and keeps the other ways open', async () => {
    const { browser } = await signIn();
    await browser.get('/onboarding');
    await fake.deviceAuthSettings({ enabled: false });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const page = await browser.post('/onboarding/device');
      expect(page.status).toBe(502);
      expect(page.html).toContain('ChatGPT does not offer sign-in with a code right now');
      expect(authorizeUrlIn(page.html).searchParams.get('state')).toBeTruthy();
      expect(page.html).toContain('id="auth_json"');
    } finally {
      await fake.deviceAuthSettings({ enabled: true });
    }
  });

  it('stops at a bot check in front of auth.openai.com (an HTML 403) instead of waiting 15 minutes', async () => {
    const { browser } = await signIn();
    await startDevice(browser);
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    await fake.deviceAuthSettings({ challenge: true });
    try {
      expect((await poll(browser)).state).toBe('failed');
    } finally {
      await fake.deviceAuthSettings({ challenge: false });
    }
    const page = await browser.get('/onboarding');
    expect(page.html).toContain('ChatGPT asked the server to prove it is a browser');
    expect(page.html).toContain('id="authorize-link"');
  });

  it('refuses a ChatGPT account another user has linked', async () => {
    const first = await signIn();
    const { landed } = await connect(first.browser);
    const { browser, email } = await signIn();
    const { userCode } = await startDevice(browser);
    await fake.approveDeviceCode(userCode, { family: landed.family });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect((await poll(browser)).state).toBe('failed');
    const page = await browser.get('/onboarding');
    expect(page.status).toBe(409);
    expect(page.html).toContain('already connected to another UseMySub account');
    expect(await readCodexTokens(env.DB, await userIdOf(email))).toBeNull();
  });
});
