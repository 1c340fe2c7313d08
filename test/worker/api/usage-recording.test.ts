/**
 * Usage recording: every model request leaves one count in `key_usage` (per key, UTC hour, model
 * and effort), with the token counts of the final usage the backend reported, whether it was
 * streamed or not, Chat Completions or Responses, and failed requests counted as failed. The
 * rows are written by the AuthBroker's flush (its alarm), within a minute of the answers.
 */
import { createExecutionContext, evictDurableObject, runDurableObjectAlarm, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import app from '../../../worker/index.ts';
import type { UsageSpec } from '../../support/fake-codex/types.ts';
import { keyIdOf } from '../helpers/key-limits.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

interface UsageRow {
  key_id: string;
  model: string;
  effort: string;
  requests: number;
  failed: number;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  duration_ms: number;
}

async function send(user: SeededUser, path: string, json: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://usemysub.test${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(json),
  }), env, ctx);
  await res.text();
  await waitOnExecutionContext(ctx);
  return res;
}

/** Runs the broker's flush, as its alarm does within a minute, and reads the user's rows. */
async function flushedRows(user: SeededUser): Promise<UsageRow[]> {
  await runDurableObjectAlarm(env.AUTH_BROKER.getByName(user.userId));
  const { results } = await env.DB.prepare('SELECT * FROM key_usage WHERE user_id = ? ORDER BY model, effort').bind(user.userId).all<UsageRow>();
  return results;
}

function usage(input: number, cached: number, output: number, reasoning: number): UsageSpec {
  return {
    input_tokens: input, input_tokens_details: { cached_tokens: cached },
    output_tokens: output, output_tokens_details: { reasoning_tokens: reasoning }, total_tokens: input + output,
  };
}

const say = (content: string) => [{ role: 'user', content }];

describe('usage recorded per key', () => {
  it('matches the usage the backend reported, streamed or not, on both surfaces', async () => {
    const user = await seedUser();
    await user.fake.scriptResponses(user.accountId, [
      { kind: 'ok', usage: usage(100, 40, 20, 5) },
      { kind: 'ok', usage: usage(200, 0, 30, 0) },
      { kind: 'ok', usage: usage(300, 100, 40, 10) },
      { kind: 'ok', usage: usage(400, 0, 50, 20) },
    ]);
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5', messages: say('a') })).status).toBe(200);
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5', messages: say('b'), stream: true })).status).toBe(200);
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'c' })).status).toBe(200);
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'd', stream: true })).status).toBe(200);

    const rows = await flushedRows(user);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      key_id: await keyIdOf(user), model: 'gpt-5.5', requests: 4, failed: 0,
      input_tokens: 1000, cached_input_tokens: 140, output_tokens: 140, reasoning_tokens: 35,
    });
    expect(rows[0]!.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('keeps one row per model and effort, named as the client asked', async () => {
    const user = await seedUser();
    await user.fake.scriptResponses(user.accountId, [{ kind: 'ok', usage: usage(10, 0, 1, 0) }, { kind: 'ok', usage: usage(20, 0, 2, 1) }]);
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5-high', messages: say('a') })).status).toBe(200);
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'b', reasoning: { effort: 'low' } })).status).toBe(200);
    const rows = await flushedRows(user);
    expect(rows.map((row) => [row.model, row.effort, row.requests, row.input_tokens])).toEqual([
      ['gpt-5.5', 'low', 1, 20],
      ['gpt-5.5-high', 'high', 1, 10],
    ]);
  });

  it('records /v1/messages too, under the Claude name the client sent, streamed or not', async () => {
    const user = await seedUser();
    await user.fake.scriptResponses(user.accountId, [{ kind: 'ok', usage: usage(50, 10, 5, 1) }, { kind: 'ok', usage: usage(60, 0, 6, 2) }]);
    const ask = (stream: boolean) => ({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: say('hi'), stream });
    expect((await send(user, '/v1/messages', ask(false))).status).toBe(200);
    expect((await send(user, '/v1/messages', ask(true))).status).toBe(200);
    const rows = await flushedRows(user);
    expect(rows.map((row) => [row.model, row.requests, row.failed, row.input_tokens, row.cached_input_tokens, row.output_tokens])).toEqual([
      ['claude-sonnet-4-5', 2, 0, 110, 10, 11],
    ]);
  });

  it('counts failed requests as failed: an upstream error before the stream, a failed stream, a cut stream', async () => {
    const user = await seedUser();
    await user.fake.scriptResponses(user.accountId, [
      { kind: 'server_error', status: 500 },
      { kind: 'failed', code: 'server_error', message: 'boom' },
      { kind: 'truncated', afterEvents: 3 },
      { kind: 'ok', usage: usage(7, 0, 3, 0) },
    ]);
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'a' })).status).toBe(502);
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'b', stream: true })).status).toBe(200);
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5', messages: say('c'), stream: true })).status).toBe(200);
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5', messages: say('d') })).status).toBe(200);
    const [row] = await flushedRows(user);
    expect(row).toMatchObject({ requests: 4, failed: 3, input_tokens: 7, output_tokens: 3 });
  });

  it('records nothing for requests refused before the model: bad input, unknown model, the catalog', async () => {
    const user = await seedUser();
    expect((await send(user, '/v1/responses', { model: 'no-such-model', input: 'x' })).status).toBe(404);
    expect((await send(user, '/v1/chat/completions', { model: 'gpt-5.5' })).status).toBe(400);
    expect(await flushedRows(user)).toEqual([]);
  });

  it("keeps each key's usage apart, and another user's rows never mix in", async () => {
    const user = await seedUser();
    const other = await seedUser();
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'a' })).status).toBe(200);
    expect((await send(other, '/v1/responses', { model: 'gpt-5.5', input: 'b' })).status).toBe(200);
    expect((await send(other, '/v1/responses', { model: 'gpt-5.5', input: 'c' })).status).toBe(200);
    expect((await flushedRows(user)).map((row) => [row.key_id, row.requests])).toEqual([[await keyIdOf(user), 1]]);
    expect((await flushedRows(other)).map((row) => [row.key_id, row.requests])).toEqual([[await keyIdOf(other), 2]]);
  });

  it('adds later flushes to the same hourly row', async () => {
    const user = await seedUser();
    await user.fake.scriptResponses(user.accountId, [{ kind: 'ok', usage: usage(5, 0, 1, 0) }, { kind: 'ok', usage: usage(6, 0, 2, 0) }]);
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'a' })).status).toBe(200);
    expect((await flushedRows(user))[0]).toMatchObject({ requests: 1, input_tokens: 5 });
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'b' })).status).toBe(200);
    expect((await flushedRows(user))[0]).toMatchObject({ requests: 2, input_tokens: 11, output_tokens: 3 });
  });

  it('keeps what D1 refused and writes it whole with a later flush, also across a restart of the broker', async () => {
    const user = await seedUser();
    await user.fake.scriptResponses(user.accountId, [{ kind: 'ok', usage: usage(9, 1, 4, 2) }]);
    expect((await send(user, '/v1/responses', { model: 'gpt-5.5', input: 'a' })).status).toBe(200);
    const trigger = `fail_usage_${user.userId.replaceAll('-', '_')}`;
    await env.DB.prepare(`CREATE TRIGGER ${trigger} BEFORE INSERT ON key_usage WHEN NEW.user_id = '${user.userId}'
      BEGIN SELECT RAISE(ABORT, 'simulated D1 outage'); END`).run();
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await flushedRows(user)).toEqual([]);
    expect(String(error.mock.calls.at(-1)?.[0])).toContain('key_usage_flush_deferred');
    error.mockRestore();
    await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    // What waits lives in the broker's storage, so a restarted broker still has it.
    await evictDurableObject(env.AUTH_BROKER.getByName(user.userId));
    expect(await flushedRows(user)).toMatchObject([{ requests: 1, input_tokens: 9, cached_input_tokens: 1, output_tokens: 4, reasoning_tokens: 2 }]);
  }, 20_000);
});
