/** The dashboard's Claude models card (the Anthropic surface's per-user model map) and the Claude Code snippet. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { listClaudeModels } from '../../../worker/db/claude-models.ts';
import { findUserByEmail } from '../../../worker/db/users.ts';
import { devEnv, signIn } from '../helpers/browser.ts';

async function userIdOf(email: string): Promise<string> {
  const user = await findUserByEmail(env.DB, email);
  if (!user) throw new Error('no such user');
  return user.id;
}

const inputValue = (html: string, name: string) => new RegExp(`<input id="claude_${name}"[^>]*value="([^"]*)"`).exec(html)?.[1];

describe('the Claude models card', () => {
  it('shows the server defaults, saves the user’s own entries, and goes back to a default when a field is emptied', async () => {
    const { browser, email } = await signIn();
    const landing = await browser.get('/dashboard');
    expect(landing.html).toContain('Claude models');
    expect(landing.html).toContain('Default: gpt-5.5-high');
    expect(inputValue(landing.html, 'opus')).toBe('');

    const saved = await browser.post('/dashboard/claude-models', { opus: ' GPT-5.6-Sol-High ', sonnet: '', haiku: 'gpt-5.4-mini' });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe('/dashboard?notice=claude_models_saved');
    const page = await browser.follow(saved);
    expect(page.html).toContain('Your Claude models are saved.');
    expect(inputValue(page.html, 'opus')).toBe('gpt-5.6-sol-high');
    const userId = await userIdOf(email);
    expect([...(await listClaudeModels(env.DB, userId))].sort()).toEqual([['haiku', 'gpt-5.4-mini'], ['opus', 'gpt-5.6-sol-high']]);

    await browser.post('/dashboard/claude-models', { opus: '', sonnet: '', haiku: 'gpt-5.4-mini' });
    expect([...(await listClaudeModels(env.DB, userId))]).toEqual([['haiku', 'gpt-5.4-mini']]);
  });

  it('refuses a value that is not a model id, keeping what was typed, and saves nothing', async () => {
    const { browser, email } = await signIn();
    await browser.get('/dashboard');
    const refused = await browser.post('/dashboard/claude-models', { opus: 'gpt 5.5; drop', sonnet: 'gpt-5.4', haiku: '' });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Use a model id such as gpt-5.5');
    expect(inputValue(refused.html, 'opus')).toBe('gpt 5.5; drop');
    expect(inputValue(refused.html, 'sonnet')).toBe('gpt-5.4');
    expect((await listClaudeModels(env.DB, await userIdOf(email))).size).toBe(0);
  });

  it('goes with the account when it is deleted', async () => {
    const { browser, email } = await signIn();
    await browser.get('/dashboard');
    await browser.post('/dashboard/claude-models', { opus: 'gpt-5.4', sonnet: '', haiku: '' });
    const userId = await userIdOf(email);
    await browser.get('/account/delete');
    expect((await browser.post('/account/delete', { confirm_email: email })).status).toBe(303);
    expect((await listClaudeModels(env.DB, userId)).size).toBe(0);
  });

  it('needs the page’s CSRF token', async () => {
    const { browser, email } = await signIn();
    await browser.get('/dashboard');
    const forged = await browser.post('/dashboard/claude-models', { opus: 'gpt-5.4' }, { csrf: null });
    expect(forged.status).toBe(403);
    expect((await listClaudeModels(env.DB, await userIdOf(email))).size).toBe(0);
  });

  it('gives a Claude Code snippet with the origin as ANTHROPIC_BASE_URL and the key as the auth token', async () => {
    const { browser } = await signIn(undefined, devEnv({ PUBLIC_APP_ORIGIN: 'http://127.0.0.1:9911' }));
    const landing = await browser.get('/dashboard');
    const snippet = /<code id="snippet-claude-code"[^>]*>([\s\S]*?)<\/code>/.exec(landing.html)?.[1] ?? '';
    expect(snippet.split('\n')).toEqual([
      'export ANTHROPIC_BASE_URL=http://127.0.0.1:9911',
      'export ANTHROPIC_AUTH_TOKEN=$USEMYSUB_API_KEY',
      '# Keeps Claude Code from calling Anthropic for telemetry, error reports and updates:',
      'export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1',
      'claude',
    ]);
  });
});
