import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  lookupStored, MAX_ROW_CHARS, MAX_USER_STORE_CHARS, STORE_TTL_MS, type StoredTurn,
} from '../../../worker/accounts/response-store.ts';

const user = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const reasoning = (id: string) => ({ id, type: 'reasoning', summary: [], encrypted_content: `gAAAA-${id}-secret` });
const reply = (id: string, text: string) => ({ id, type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] });
const query = (patch: { previousResponseId?: string; itemIds?: string[]; callIds?: string[] }) => ({
  previousResponseId: patch.previousResponseId ?? null, itemIds: patch.itemIds ?? [], callIds: patch.callIds ?? [],
});

function newUser() {
  const userId = crypto.randomUUID();
  return { userId, store: env.RESPONSE_STORE.getByName(userId) };
}

type RawRow = { key: string; previous: string | null; created_at: number; chars: number; sealed: string | null };
const rows = (store: ReturnType<typeof newUser>['store']) =>
  runInDurableObject(store, (_obj, state) => state.storage.sql.exec<RawRow>('SELECT * FROM stored_rows ORDER BY key').toArray());

describe('the ResponseStore', () => {
  it('rebuilds a previous_response_id chain, oldest first, and finds output items by id', async () => {
    const { userId, store } = newUser();
    const first: StoredTurn = { responseId: 'resp_1', previousResponseId: null, input: [user('one')], output: [reasoning('rs_1'), reply('msg_1', 'A')] };
    const second: StoredTurn = { responseId: 'resp_2', previousResponseId: 'resp_1', input: [user('two')], output: [reply('msg_2', 'B')] };
    await store.saveTurn(userId, first);
    await store.saveTurn(userId, second);
    const answer = await lookupStored(env, userId, query({ previousResponseId: 'resp_2', itemIds: ['rs_1', 'rs_unknown'] }));
    expect(answer.chain).toEqual({ kind: 'found', items: [user('one'), reasoning('rs_1'), reply('msg_1', 'A'), user('two'), reply('msg_2', 'B')] });
    expect(answer.items).toEqual({ rs_1: reasoning('rs_1') });
    expect((await lookupStored(env, userId, query({ previousResponseId: 'resp_9' }))).chain).toEqual({ kind: 'missing', id: 'resp_9' });
  });

  it('keeps nothing in clear, and a row opens only for its user and its key', async () => {
    const { userId, store } = newUser();
    await store.saveTurn(userId, { responseId: 'resp_1', previousResponseId: null, input: [user('my secret plan')], output: [reasoning('rs_1')] });
    const stored = await rows(store);
    expect(stored.map((r) => r.key)).toEqual(['item:rs_1', 'response:resp_1']);
    for (const row of stored) {
      expect(row.sealed).toMatch(/^v1\.[0-9a-f]{8}\./);
      expect(row.sealed).not.toContain('secret');
    }
    // The same ciphertext under another key (or in another user's store) fails authentication.
    await runInDurableObject(store, (_obj, state) => {
      state.storage.sql.exec("UPDATE stored_rows SET key = 'item:rs_2' WHERE key = 'item:rs_1'");
    });
    expect((await lookupStored(env, userId, query({ itemIds: ['rs_2'] }))).items).toEqual({});
    const other = newUser();
    await runInDurableObject(other.store, (_obj, state) => {
      state.storage.sql.exec('INSERT INTO stored_rows (key, previous, created_at, chars, sealed) VALUES (?, NULL, ?, ?, ?)', 'item:rs_2', Date.now(), 1, stored[0]!.sealed);
    });
    expect((await lookupStored(env, other.userId, query({ itemIds: ['rs_2'] }))).items).toEqual({});
  });

  it('serves nothing older than the TTL, and its alarm deletes it', async () => {
    const { userId, store } = newUser();
    await store.saveTurn(userId, { responseId: 'resp_old', previousResponseId: null, input: [user('old')], output: [reasoning('rs_old')] });
    await store.saveTurn(userId, { responseId: 'resp_new', previousResponseId: null, input: [user('new')], output: [] });
    await runInDurableObject(store, (_obj, state) => {
      state.storage.sql.exec("UPDATE stored_rows SET created_at = ? WHERE key IN ('response:resp_old', 'item:rs_old')", Date.now() - STORE_TTL_MS - 1000);
    });
    const answer = await lookupStored(env, userId, query({ previousResponseId: 'resp_old', itemIds: ['rs_old'] }));
    expect(answer).toEqual({ chain: { kind: 'missing', id: 'resp_old' }, items: {}, toolReasoning: {} });
    expect(await runDurableObjectAlarm(store)).toBe(true);
    expect((await rows(store)).map((r) => r.key)).toEqual(['response:resp_new']);
    // The next purge is due when the remaining row expires.
    const alarm = await runInDurableObject(store, (_obj, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + STORE_TTL_MS - 60_000);
  });

  it('marks a response too large to keep, so continuing it gets a clear answer', async () => {
    const { userId, store } = newUser();
    const huge = user('x'.repeat(MAX_ROW_CHARS));
    await store.saveTurn(userId, { responseId: 'resp_big', previousResponseId: null, input: [huge], output: [reasoning('rs_small')] });
    const answer = await lookupStored(env, userId, query({ previousResponseId: 'resp_big', itemIds: ['rs_small'] }));
    expect(answer.chain).toEqual({ kind: 'too_large', id: 'resp_big' });
    expect(answer.items.rs_small).toEqual(reasoning('rs_small'));
  });

  it('drops the oldest rows once a user keeps more than the quota', async () => {
    const { userId, store } = newUser();
    const rowChars = 1_000_000;
    const turns = Math.ceil(MAX_USER_STORE_CHARS / rowChars) + 2;
    for (let i = 0; i < turns; i++) {
      await store.saveTurn(userId, { responseId: `resp_${i}`, previousResponseId: null, input: [user('y'.repeat(rowChars * 0.7))], output: [] });
    }
    const kept = await rows(store);
    const total = kept.reduce((n, r) => n + r.chars, 0);
    expect(total).toBeLessThanOrEqual(MAX_USER_STORE_CHARS);
    expect(kept.map((r) => r.key)).toContain(`response:resp_${turns - 1}`);
    expect(kept.map((r) => r.key)).not.toContain('response:resp_0');
  }, 30_000);

  it('keeps a Chat tool turn’s reasoning under each of its call ids', async () => {
    const { userId, store } = newUser();
    await store.saveToolReasoning(userId, ['call_a', 'call_b'], [reasoning('rs_1')]);
    const answer = await lookupStored(env, userId, query({ callIds: ['call_a', 'call_b', 'call_c'] }));
    expect(answer.toolReasoning).toEqual({ call_a: [reasoning('rs_1')], call_b: [reasoning('rs_1')] });
  });
});
