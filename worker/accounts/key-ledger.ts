/**
 * The AuthBroker's view of its user's proxy keys: each key's limits (read from D1, kept in
 * memory, written through the broker), what each key used today (the day limits), and the
 * usage not yet flushed to D1's `key_usage`. Storage keys: docs/storage.md.
 */
import { addKeyUsage, type KeyUsageIncrement } from '../db/key-usage-flush.ts';
import { listApiKeys } from '../db/api-keys.ts';
import { checkKey, policyFromRow, utcDayStart, type DayCount, type KeyPolicy, type KeyRefusal } from './key-limits.ts';


/** DO storage key of today's counts per key. */
export const KEY_DAY_COUNTS_KEY = 'key_day_counts';
/** DO storage key of the usage rows and last-used times not yet written to D1. */
export const KEY_USAGE_PENDING_KEY = 'key_usage_pending';
/** Usage reaches D1 at most this long after the answer (the flush alarm's delay). */
export const USAGE_FLUSH_DELAY_MS = 60_000;
/** Key limits read from D1 are re-read after this long, after the answer (a safety net: every write goes through the broker). */
const POLICY_TTL_MS = 30_000;

/** What a finished model request used, as the Worker reports it after the answer. */
export interface UsageRecord {
  keyId: string;
  /** The model id the client asked for. */
  model: string;
  /** The reasoning effort sent upstream; '' when none. */
  effort: string;
  startedAt: number;
  durationMs: number;
  failed: boolean;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

interface DayCounts {
  dayStart: number;
  keys: Record<string, DayCount>;
}

interface PendingUsage {
  rows: Record<string, KeyUsageIncrement>;
  lastUsed: Record<string, number>;
}

/** A key's admission: refused, or admitted (and, for a model request, counted in today's requests). */
export type KeyAdmission = { ok: false; refusal: KeyRefusal } | { ok: true; allowedModels: string[] | null; dayStart: number };

export class KeyLedger {
  readonly #kv: SyncKvStorage;
  #policies: Map<string, KeyPolicy> | null = null;
  #loadedAt = 0;
  #loading: Promise<Map<string, KeyPolicy>> | null = null;
  #counts: DayCounts;
  #pending: PendingUsage;

  constructor(kv: SyncKvStorage) {
    this.#kv = kv;
    this.#counts = kv.get<DayCounts>(KEY_DAY_COUNTS_KEY) ?? { dayStart: 0, keys: {} };
    this.#pending = kv.get<PendingUsage>(KEY_USAGE_PENDING_KEY) ?? { rows: {}, lastUsed: {} };
  }

  /** The key's policy: from memory, else the user's keys read from D1 (one read shared by concurrent callers). */
  async policy(db: D1Database, userId: string, keyId: string, now: number): Promise<KeyPolicy | null> {
    let policies = this.#policies;
    if (policies && !policies.has(keyId)) policies = null; // a key created since the last read
    if (!policies) policies = await this.#load(db, userId);
    else if (now - this.#loadedAt > POLICY_TTL_MS) this.#load(db, userId).catch(() => undefined);
    return policies.get(keyId) ?? null;
  }

  /**
   * Checks the key and, for a model request, counts it in today's requests before answering: the
   * broker runs this without awaiting anything in between, so concurrent requests cannot both
   * take the last one. The count is made durable only for keys with a request limit.
   */
  admit(policy: KeyPolicy, now: number, modelRequest: boolean): KeyAdmission {
    const count = this.#today(now, policy.keyId);
    const refusal = checkKey(policy, count, now, modelRequest);
    if (refusal) return { ok: false, refusal };
    if (modelRequest) {
      count.requests += 1;
      if (policy.maxRequestsPerDay !== null) this.#kv.put(KEY_DAY_COUNTS_KEY, this.#counts);
    }
    if (this.#pending.lastUsed[policy.keyId] === undefined) {
      this.#pending.lastUsed[policy.keyId] = now;
      this.#kv.put(KEY_USAGE_PENDING_KEY, this.#pending);
    }
    return { ok: true, allowedModels: policy.allowedModels, dayStart: this.#counts.dayStart };
  }

  /** Gives back a counted request that never reached the model (refused by validation, or not a model call). */
  release(keyId: string, dayStart: number): void {
    const count = this.#counts.dayStart === dayStart ? this.#counts.keys[keyId] : undefined;
    if (!count || count.requests === 0) return;
    count.requests -= 1;
    this.#kv.put(KEY_DAY_COUNTS_KEY, this.#counts);
  }

  /** Adds a finished request's tokens to today's count and to the hourly row waiting for D1. */
  record(userId: string, usage: UsageRecord, now: number): void {
    if (utcDayStart(usage.startedAt) === utcDayStart(now)) {
      this.#today(now, usage.keyId).tokens += usage.inputTokens + usage.outputTokens;
      this.#kv.put(KEY_DAY_COUNTS_KEY, this.#counts);
    }
    const hour = usage.startedAt - (usage.startedAt % 3_600_000);
    const id = JSON.stringify([usage.keyId, hour, usage.model, usage.effort]);
    const row = (this.#pending.rows[id] ??= {
      userId, keyId: usage.keyId, hour, model: usage.model, effort: usage.effort,
      requests: 0, failed: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0, durationMs: 0,
    });
    row.requests += 1;
    row.failed += usage.failed ? 1 : 0;
    row.inputTokens += usage.inputTokens;
    row.cachedInputTokens += usage.cachedInputTokens;
    row.outputTokens += usage.outputTokens;
    row.reasoningTokens += usage.reasoningTokens;
    row.durationMs += usage.durationMs;
    this.#pending.lastUsed[usage.keyId] = Math.max(this.#pending.lastUsed[usage.keyId] ?? 0, now);
    this.#kv.put(KEY_USAGE_PENDING_KEY, this.#pending);
  }

  /** True when something waits for D1. */
  get hasPending(): boolean {
    return Object.keys(this.#pending.rows).length > 0 || Object.keys(this.#pending.lastUsed).length > 0;
  }

  /**
   * Writes what waits to D1 in one batch. What arrives meanwhile waits for the next flush; a
   * failed batch is merged back, to be retried whole.
   */
  async flush(db: D1Database): Promise<void> {
    const taken = this.#pending;
    this.#pending = { rows: {}, lastUsed: {} };
    try {
      await addKeyUsage(db, Object.values(taken.rows), taken.lastUsed);
    } catch (err) {
      this.#pending = mergePending(taken, this.#pending);
      throw err;
    } finally {
      this.#kv.put(KEY_USAGE_PENDING_KEY, this.#pending);
    }
  }

  /** Today's count for a key (for the dashboard's limits page). */
  today(keyId: string, now: number): DayCount {
    return { ...this.#today(now, keyId) };
  }

  /**
   * Forgets the policies after the broker wrote a key's row: the next request reads D1, and a
   * read that started before the write is not adopted.
   */
  invalidate(): void {
    this.#policies = null;
    this.#loading = null;
  }

  /** The account was deleted: drop everything (the broker deletes the storage itself). */
  forget(): void {
    this.invalidate();
    this.#counts = { dayStart: 0, keys: {} };
    this.#pending = { rows: {}, lastUsed: {} };
  }

  #today(now: number, keyId: string): DayCount {
    const dayStart = utcDayStart(now);
    if (this.#counts.dayStart !== dayStart) this.#counts = { dayStart, keys: {} };
    return (this.#counts.keys[keyId] ??= { requests: 0, tokens: 0 });
  }

  #load(db: D1Database, userId: string): Promise<Map<string, KeyPolicy>> {
    if (!this.#loading) {
      const loading = listApiKeys(db, userId)
        .then((rows) => {
          const policies = new Map(rows.map((row) => [row.id, policyFromRow(row)] as const));
          if (this.#loading === loading) {
            this.#policies = policies;
            this.#loadedAt = Date.now();
          }
          return policies;
        })
        .finally(() => {
          if (this.#loading === loading) this.#loading = null;
        });
      this.#loading = loading;
    }
    return this.#loading;
  }
}

function mergePending(older: PendingUsage, newer: PendingUsage): PendingUsage {
  const rows = { ...older.rows };
  for (const [id, row] of Object.entries(newer.rows)) {
    const base = rows[id];
    rows[id] = !base ? row : {
      ...base,
      requests: base.requests + row.requests, failed: base.failed + row.failed,
      inputTokens: base.inputTokens + row.inputTokens, cachedInputTokens: base.cachedInputTokens + row.cachedInputTokens,
      outputTokens: base.outputTokens + row.outputTokens, reasoningTokens: base.reasoningTokens + row.reasoningTokens,
      durationMs: base.durationMs + row.durationMs,
    };
  }
  const lastUsed = { ...older.lastUsed };
  for (const [keyId, at] of Object.entries(newer.lastUsed)) lastUsed[keyId] = Math.max(lastUsed[keyId] ?? 0, at);
  return { rows, lastUsed };
}
