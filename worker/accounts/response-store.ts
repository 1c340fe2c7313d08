/**
 * ResponseStore: one Durable Object per user (addressed by name = user id) that keeps the
 * Responses items the backend will not keep for us (it requires `store:false`): each response's
 * input and output, for `previous_response_id`; output items by id, for `item_reference`; and the
 * reasoning of Chat turns that ended in tool calls, by call id. Every value is sealed with the
 * token keyring (crypto.ts) under an AAD naming the user and the row. Bounded by age and size;
 * tables, bounds and AAD are in docs/storage.md ("ResponseStore").
 *
 * Writes arrive after the answer (the Worker's waitUntil); a read waits for writes this object
 * has already received, so a client that continues at once finds what it was just sent.
 */
import { DurableObject } from 'cloudflare:workers';
import { DecryptError, openStoredValue, sealStoredValue, tokenKeyring, type Keyring } from './crypto.ts';
import { STORE_TTL_DAYS, type StoreAnswer, type StoreQuery, type StoredChain } from '../translate/stored-context.ts';

type Json = Record<string, unknown>;

/** Rows older than this are gone: not served, and deleted by the alarm. */
export const STORE_TTL_MS = STORE_TTL_DAYS * 24 * 60 * 60 * 1000;
/** Sealed characters one user may keep; the oldest rows go first beyond it. */
export const MAX_USER_STORE_CHARS = 32 * 1024 * 1024;
/** Largest sealed row (Durable Object SQLite stores at most 2 MB per value). */
export const MAX_ROW_CHARS = 1_500_000;
/** Longest `previous_response_id` chain rebuilt (a guard; the size bound comes first in practice). */
export const MAX_CHAIN_LENGTH = 1000;

/** One answered Responses request: what it was sent (references expanded, history excluded) and what it answered. */
export interface StoredTurn {
  responseId: string;
  previousResponseId: string | null;
  input: Json[];
  output: Json[];
}

type Row = { key: string; created_at: number; sealed: string | null };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stored_rows (
  key TEXT PRIMARY KEY,
  previous TEXT,
  created_at INTEGER NOT NULL,
  chars INTEGER NOT NULL,
  sealed TEXT
);
CREATE INDEX IF NOT EXISTS stored_rows_by_age ON stored_rows (created_at);
`;

const responseKey = (id: string) => `response:${id}`;
const itemKey = (id: string) => `item:${id}`;
const callKey = (id: string) => `call:${id}`;

export class ResponseStore extends DurableObject<Env> {
  /** Writes received and not finished yet; reads wait for them. */
  #writes: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
  }

  /** Everything `query` names that is still stored. */
  async lookup(userId: string, query: StoreQuery): Promise<StoreAnswer> {
    await this.#writes;
    const keyring = await tokenKeyring(this.env);
    const cutoff = Date.now() - STORE_TTL_MS;
    const answer: StoreAnswer = { chain: null, items: {}, toolReasoning: {} };
    if (query.previousResponseId !== null) answer.chain = await this.#chain(keyring, userId, query.previousResponseId, cutoff);
    for (const id of query.itemIds) {
      const value = await this.#open(keyring, userId, itemKey(id), cutoff);
      if (isJson(value)) answer.items[id] = value;
    }
    for (const id of query.callIds) {
      const value = await this.#open(keyring, userId, callKey(id), cutoff);
      if (Array.isArray(value)) answer.toolReasoning[id] = value.filter(isJson);
    }
    return answer;
  }

  /** Keeps one answered Responses request: its record for chains, and each output item by id. */
  async saveTurn(userId: string, turn: StoredTurn): Promise<void> {
    return this.#write(async (keyring, now) => {
      const record = { input: turn.input, output: turn.output };
      // A record too large for one row leaves a marker, so a continuation gets a clear error.
      const sealed = await this.#sealFitting(keyring, userId, responseKey(turn.responseId), record);
      this.#put(responseKey(turn.responseId), turn.previousResponseId, now, sealed);
      for (const item of turn.output) {
        if (typeof item.id !== 'string' || item.id === '') continue;
        const sealedItem = await this.#sealFitting(keyring, userId, itemKey(item.id), item);
        if (sealedItem !== null) this.#put(itemKey(item.id), null, now, sealedItem);
      }
    });
  }

  /** Keeps the reasoning of a Chat turn that ended in tool calls, under each call id. */
  async saveToolReasoning(userId: string, callIds: string[], reasoning: Json[]): Promise<void> {
    return this.#write(async (keyring, now) => {
      for (const id of callIds) {
        const sealed = await this.#sealFitting(keyring, userId, callKey(id), reasoning);
        if (sealed !== null) this.#put(callKey(id), null, now, sealed);
      }
    });
  }

  /** The account was deleted: drop every stored item and the purge alarm. */
  async forget(_userId: string): Promise<void> {
    await this.#writes;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // deleteAll drops the table too; this object may still be asked before it is evicted.
    this.ctx.storage.sql.exec(SCHEMA);
  }

  /** Deletes what has outlived the TTL, then waits for the next row to expire. */
  override async alarm(): Promise<void> {
    this.#purgeExpired(Date.now());
    await this.#scheduleNextPurge();
  }

  // ---------------------------------------------------------------------------------------------

  #write(task: (keyring: Keyring, now: number) => Promise<void>): Promise<void> {
    const run = this.#writes.then(async () => {
      const now = Date.now();
      await task(await tokenKeyring(this.env), now);
      this.#purgeExpired(now);
      this.#evictBeyondQuota();
      await this.#scheduleNextPurge();
    });
    // One failed write must not block the ones after it; the caller still sees its failure.
    this.#writes = run.catch(() => {});
    return run;
  }

  async #sealFitting(keyring: Keyring, userId: string, key: string, value: unknown): Promise<string | null> {
    const sealed = await sealStoredValue(keyring, userId, key, value);
    if (sealed.length <= MAX_ROW_CHARS) return sealed;
    log('warn', { event: 'stored_row_too_large', userId, kind: key.split(':')[0], chars: sealed.length });
    return null;
  }

  #put(key: string, previous: string | null, now: number, sealed: string | null): void {
    this.ctx.storage.sql.exec(
      'INSERT OR REPLACE INTO stored_rows (key, previous, created_at, chars, sealed) VALUES (?, ?, ?, ?, ?)',
      key, previous, now, sealed?.length ?? 0, sealed,
    );
  }

  #row(key: string, cutoff: number): (Row & { previous: string | null }) | null {
    const rows = this.ctx.storage.sql
      .exec<Row & { previous: string | null }>('SELECT key, previous, created_at, sealed FROM stored_rows WHERE key = ? AND created_at > ?', key, cutoff)
      .toArray();
    return rows[0] ?? null;
  }

  async #open(keyring: Keyring, userId: string, key: string, cutoff: number): Promise<unknown> {
    const row = this.#row(key, cutoff);
    if (!row?.sealed) return undefined;
    try {
      return await openStoredValue(keyring, userId, key, row.sealed);
    } catch (err) {
      // Sealed under a key that was rotated away, or damaged: as good as expired.
      if (!(err instanceof DecryptError)) throw err;
      log('warn', { event: 'stored_row_unreadable', userId, kind: key.split(':')[0], reason: err.reason });
      return undefined;
    }
  }

  /** The conversation up to and including `id`: every record's input then output, oldest first. */
  async #chain(keyring: Keyring, userId: string, id: string, cutoff: number): Promise<StoredChain> {
    const records: Json[][] = [];
    let next: string | null = id;
    while (next !== null && records.length < MAX_CHAIN_LENGTH) {
      const row = this.#row(responseKey(next), cutoff);
      if (!row) return { kind: 'missing', id: next };
      if (row.sealed === null) return { kind: 'too_large', id: next };
      const value = await this.#open(keyring, userId, responseKey(next), cutoff);
      if (!isJson(value) || !Array.isArray(value.input) || !Array.isArray(value.output)) return { kind: 'missing', id: next };
      records.push([...value.input.filter(isJson), ...value.output.filter(isJson)]);
      next = row.previous;
    }
    return { kind: 'found', items: records.reverse().flat() };
  }

  #purgeExpired(now: number): void {
    this.ctx.storage.sql.exec('DELETE FROM stored_rows WHERE created_at <= ?', now - STORE_TTL_MS);
  }

  /** Over the quota, the oldest rows go until the newest ones fit. */
  #evictBeyondQuota(): void {
    const [total] = this.ctx.storage.sql.exec<{ chars: number | null }>('SELECT SUM(chars) AS chars FROM stored_rows').toArray();
    if ((total?.chars ?? 0) <= MAX_USER_STORE_CHARS) return;
    let kept = 0;
    let cutoff: number | null = null;
    for (const row of this.ctx.storage.sql.exec<{ created_at: number; chars: number }>('SELECT created_at, chars FROM stored_rows ORDER BY created_at DESC')) {
      kept += row.chars;
      if (kept > MAX_USER_STORE_CHARS) {
        cutoff = row.created_at;
        break;
      }
    }
    if (cutoff !== null) this.ctx.storage.sql.exec('DELETE FROM stored_rows WHERE created_at <= ?', cutoff);
  }

  async #scheduleNextPurge(): Promise<void> {
    const [oldest] = this.ctx.storage.sql.exec<{ created_at: number | null }>('SELECT MIN(created_at) AS created_at FROM stored_rows').toArray();
    if (oldest?.created_at == null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const due = oldest.created_at + STORE_TTL_MS + 1;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }
}

/**
 * `userId`'s stored state for `query`, through their ResponseStore. (RPC type inference turns
 * `unknown` JSON values into `never`; this restores the type the object returns.)
 */
export async function lookupStored(env: Env, userId: string, query: StoreQuery): Promise<StoreAnswer> {
  return (await env.RESPONSE_STORE.getByName(userId).lookup(userId, query)) as unknown as StoreAnswer;
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function log(level: 'warn' | 'error', fields: Record<string, unknown>): void {
  console[level](JSON.stringify(fields));
}
