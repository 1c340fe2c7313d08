/**
 * The hourly cron (`scheduled` in worker/index.ts, wrangler.jsonc `triggers.crons`): rows nobody
 * needs any more are deleted, rows still in use are kept. Calls the Worker's real default export.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApiKey } from '../../../worker/accounts/api-keys.ts';
import { findOrCreateUser } from '../../../worker/db/users.ts';
import { runPurges } from '../../../worker/db/purge.ts';
import worker from '../../../worker/index.ts';

afterEach(() => vi.restoreAllMocks());

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;

async function ids(sql: string, ...params: unknown[]): Promise<string[]> {
  const { results } = await env.DB.prepare(sql).bind(...params).all<{ id: string }>();
  return results.map((row) => row.id).sort();
}

async function seed(now: number) {
  const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, now - 60 * DAY);
  const stmt = (sql: string, ...params: unknown[]) => env.DB.prepare(sql).bind(...params);
  await env.DB.batch([
    stmt('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', 'session-expired', user.id, now - 31 * DAY, now - DAY),
    stmt('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', 'session-live', user.id, now - DAY, now + 29 * DAY),
    stmt('INSERT INTO magic_links (token_hash, email, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?)', 'link-old', user.email, now - 2 * DAY, now - 2 * DAY + 15 * 60_000, null),
    stmt('INSERT INTO magic_links (token_hash, email, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?)', 'link-used-recently', user.email, now - HOUR, now - HOUR + 15 * 60_000, now - HOUR),
    stmt('INSERT INTO oauth_states (state_hash, user_id, verifier_ciphertext, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', 'state-old', user.id, 'v1.x', now - 2 * DAY, now - 2 * DAY + 15 * 60_000),
    stmt('INSERT INTO oauth_states (state_hash, user_id, verifier_ciphertext, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', 'state-open', user.id, 'v1.y', now - 60_000, now + 14 * 60_000),
    stmt('INSERT INTO rate_limits (bucket, count, resets_at) VALUES (?, ?, ?)', 'purge-test:ended', 3, now - 60_000),
    stmt('INSERT INTO rate_limits (bucket, count, resets_at) VALUES (?, ?, ?)', 'purge-test:running', 3, now + HOUR),
  ]);
  const keys = {
    active: (await createApiKey(env, user.id, 'active')).id,
    revokedLongAgo: (await createApiKey(env, user.id, 'revoked long ago')).id,
    revokedRecently: (await createApiKey(env, user.id, 'revoked recently')).id,
  };
  await stmt('UPDATE api_keys SET revoked_at = ? WHERE id = ?', now - 31 * DAY, keys.revokedLongAgo).run();
  await stmt('UPDATE api_keys SET revoked_at = ? WHERE id = ?', now - DAY, keys.revokedRecently).run();
  const device = (hash: string, createdAt: number) =>
    stmt('INSERT INTO device_logins (login_hash, user_id, secret_ciphertext, interval_ms, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      hash, user.id, 'v1.z', 5_000, createdAt, createdAt + 15 * 60_000);
  const flash = (session: string, expiresAt: number) =>
    stmt('INSERT INTO key_flashes (session_hash, key_id, key_ciphertext, expires_at) VALUES (?, ?, ?, ?)', session, keys.active, 'v1.k', expiresAt);
  await stmt('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', 'session-other', user.id, now - DAY, now + DAY).run();
  const usage = (keyId: string, hour: number) =>
    stmt('INSERT INTO key_usage (user_id, key_id, hour, model, requests) VALUES (?, ?, ?, ?, ?)', user.id, keyId, hour, 'gpt-5.5', 1);
  await env.DB.batch([
    usage('usage-36-days-ago', now - 36 * DAY),
    usage('usage-34-days-ago', now - 34 * DAY),
    device('device-old', now - 2 * DAY),
    device('device-open', now - 60_000),
    flash('session-live', now - 60_000),
    flash('session-other', now + 4 * 60_000),
  ]);
  return { user, keys };
}

describe('the hourly purge', () => {
  it('keeps going when one purge fails, logs it, and fails the run', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const ran: string[] = [];
    const broken = { name: 'broken', run: async () => { throw new Error('no such table: gone'); } };
    const counted = { name: 'counted', run: async () => { ran.push('counted'); return 2; } };
    await expect(runPurges(env.DB, Date.now(), [broken, counted])).rejects.toThrow(/broken/);
    expect(ran).toEqual(['counted']);
    expect(String(error.mock.calls[0]?.[0])).toContain('"purge":"broken"');
  });

  it('deletes expired sessions, spent links, states and device logins, ended rate-limit windows, expired key flashes, keys revoked over 30 days ago and usage rows over 35 days old', async () => {
    const now = Date.now();
    const { user, keys } = await seed(now);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: '17 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);

    expect(await ids('SELECT id_hash AS id FROM sessions WHERE user_id = ?', user.id)).toEqual(['session-live', 'session-other']);
    expect(await ids('SELECT token_hash AS id FROM magic_links WHERE email = ?', user.email)).toEqual(['link-used-recently']);
    expect(await ids('SELECT state_hash AS id FROM oauth_states WHERE user_id = ?', user.id)).toEqual(['state-open']);
    expect(await ids("SELECT bucket AS id FROM rate_limits WHERE bucket LIKE 'purge-test:%'")).toEqual(['purge-test:running']);
    expect(await ids('SELECT id FROM api_keys WHERE user_id = ?', user.id)).toEqual([keys.active, keys.revokedRecently].sort());
    expect(await ids('SELECT login_hash AS id FROM device_logins WHERE user_id = ?', user.id)).toEqual(['device-open']);
    expect(await ids('SELECT session_hash AS id FROM key_flashes WHERE key_id = ?', keys.active)).toEqual(['session-other']);
    expect(await ids('SELECT key_id AS id FROM key_usage WHERE user_id = ?', user.id)).toEqual(['usage-34-days-ago']);

    const line = log.mock.calls.map((call) => String(call[0])).find((text) => text.includes('"event":"purge"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      event: 'purge',
      deleted: { sessions: 1, magic_links: 1, oauth_states: 1, rate_limits: 1, revoked_api_keys: 1, device_logins: 1, key_flashes: 1, key_usage: 1 },
    });
  });
});
