/**
 * AuthBroker: one Durable Object per user (addressed by name = user id), the only place that
 * refreshes that user's ChatGPT tokens. It hands out access tokens; the Worker makes the
 * upstream calls itself, so long streams never queue inside the object.
 *
 * Refreshes are single-flight (one in-memory promise shared by every concurrent caller) and
 * never run under blockConcurrencyWhile. The token endpoint rotates refresh tokens, so a new
 * bundle is written to this object's own storage (the pending record) before anything else,
 * then to D1 over the version it was read from; a failed D1 write leaves the pending record in
 * place to be retried on the next call or by the alarm. Storage keys: docs/storage.md.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  type AccessGrant,
  PENDING_FLUSH_RETRY_MS,
  REFRESH_ATTEMPT_TIMEOUT_MS,
  REFRESH_RETRY_DELAYS_MS,
  grantFor,
  jittered,
  mergeRefreshed,
  needsRefresh,
  notConnectedGrant,
  reauthGrant,
  stillUsable,
  unavailableGrant,
  unreadableGrant,
} from './auth-broker-policy.ts';
import { ConfigError, DecryptError, decryptTokenBundle, tokenKeyring, sealTokenBundle, type SealedTokenBundle } from './crypto.ts';
import {
  markCodexReauthRequiredIfVersion,
  readCodexTokens,
  updateCodexTokensIfVersion,
} from '../db/codex-tokens.ts';
import { refreshTokens, type TokenEndpointResult } from '../upstream/oauth.ts';
import { codexClientVersion } from '../upstream/egress.ts';
import { fetchModelCatalog } from '../upstream/model-catalog.ts';
import { ModelCatalogStore, type CatalogAnswer } from './model-catalog-store.ts';
import { mergeRateLimits, type RateLimitSnapshot } from '../upstream/rate-limits.ts';
import type { TokenBundle } from './token-bundle.ts';
import { revokeApiKey, updateApiKeyLimits, type ApiKeyLimits } from '../db/api-keys.ts';
import { listClaudeModels, replaceClaudeModels } from '../db/claude-models.ts';
import { KeyLedger, USAGE_FLUSH_DELAY_MS, type KeyAdmission, type UsageRecord } from './key-ledger.ts';
import type { DayCount } from './key-limits.ts';

export type { AccessGrant } from './auth-broker-policy.ts';
export { accessFromGrant } from './auth-broker-policy.ts';

/** DO storage key of the rotated tokens not yet written to D1. */
export const PENDING_REFRESH_KEY = 'pending_refresh';
/** DO storage key of the latest RateLimitSnapshot. */
export const RATE_LIMITS_KEY = 'rate_limits';
/** How long the decrypted bundle is trusted before D1 is read again (reset() forgets it at once). */
const STATE_TTL_MS = 30_000;

/** Rotated tokens waiting for their D1 write. The bundle is only present encrypted. */
export interface PendingRefresh {
  userId: string;
  /** The D1 row version the refresh started from; the D1 write lands only over it. */
  baseVersion: number;
  fields: SealedTokenBundle;
  createdAt: number;
  flushAttempts: number;
}

type LinkState =
  | { kind: 'missing'; version: 0; loadedAt: number }
  | { kind: 'reauth'; version: number; loadedAt: number }
  | { kind: 'active'; version: number; bundle: TokenBundle; loadedAt: number };

/** An access token with the caller's model catalog: what every model request needs, in one call. */
export interface ModelAccess {
  grant: AccessGrant;
  /** Null when the grant is not usable. */
  models: CatalogAnswer | null;
}

/** What the key check asks for: the key's verdict and, when it passes, everything the request needs. */
export interface AdmitRequest {
  keyId: string;
  /** A request that may reach the model: it is counted in (and checked against) the key's day limits. */
  modelRequest: boolean;
  knownRevision: string | null;
  /** The codex_tokens version the caller read with the key, when it read the key from D1. */
  seenVersion: number | null;
}

export type Admission =
  | Extract<KeyAdmission, { ok: false }>
  | (Extract<KeyAdmission, { ok: true }> & {
      access: ModelAccess;
      /** The user's own Claude model entries (name → model id), for /v1/messages: they ride along so it needs no read of its own. */
      claudeModels: Record<string, string>;
    });

/** Usage that could not be written to D1 is retried this long after. */
const USAGE_FLUSH_RETRY_MS = 60_000;

type RefreshTrigger = { kind: 'expiring' } | { kind: 'unauthorized'; rejected: string };

export class AuthBroker extends DurableObject<Env> {
  #state: LinkState | null = null;
  #pending: PendingRefresh | null;
  #loading: Promise<LinkState> | null = null;
  /** Bumped by reset(), so reads that started before it are not adopted. */
  #generation = 0;
  #inflight: Promise<AccessGrant> | null = null;
  #flushing: { pending: PendingRefresh; promise: Promise<FlushResult> } | null = null;
  /** The user's claude_models entries, read from D1 once; every write goes through setClaudeModels. */
  #claudeModels: Promise<Record<string, string>> | null = null;
  readonly #catalog: ModelCatalogStore;
  readonly #keys: KeyLedger;
  /** When the alarm is known to be set for (null: unknown or none), so busy keys do not reset it on every request. */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#catalog = new ModelCatalogStore(ctx.storage.kv);
    this.#keys = new KeyLedger(ctx.storage.kv);
    // A pending record survives restarts; #load decides whether it is still newer than D1.
    this.#pending = ctx.storage.kv.get<PendingRefresh>(PENDING_REFRESH_KEY) ?? null;
  }

  /**
   * A fresh access token for `userId`, refreshed first when it expires within minutes.
   * `seenVersion` is the codex_tokens version the caller read (the key check reads it for free):
   * newer than the cached one means the tokens were replaced without a reset() (provision),
   * so D1 is read again at once instead of after the cache lifetime.
   */
  async getAccessToken(userId: string, seenVersion: number | null = null): Promise<AccessGrant> {
    return this.#guard(userId, async () => {
      const cached = this.#state;
      const replaced = seenVersion !== null && cached !== null && seenVersion > cached.version;
      // While rotated tokens wait for D1, every call re-reads D1, which retries the write.
      const mustRead = this.#pending !== null || replaced;
      let state: LinkState;
      if (!mustRead && cached?.kind === 'active' && Date.now() - cached.loadedAt >= STATE_TTL_MS) {
        // Active tokens past their cache life are served while D1 is read behind the answer, so a
        // request never waits for D1 here (tokens replaced by provision are seen from the next call).
        this.#current(userId, 0).catch(() => undefined);
        state = cached;
      } else {
        state = await this.#current(userId, mustRead ? 0 : STATE_TTL_MS);
      }
      if (state.kind !== 'active') return this.#notActiveGrant(state);
      if (!needsRefresh(state.bundle, Date.now())) return grantFor(state.bundle);
      return this.#refreshOnce(userId, { kind: 'expiring' });
    });
  }

  /** Upstream answered 401 to `rejectedAccessToken`: refresh once, unless someone already has. */
  async refreshAfterUnauthorized(userId: string, rejectedAccessToken: string): Promise<AccessGrant> {
    return this.#guard(userId, async () => {
      if (this.#inflight) return this.#inflight;
      const state = await this.#current(userId, STATE_TTL_MS);
      if (state.kind !== 'active') return this.#notActiveGrant(state);
      if (state.bundle.accessToken !== rejectedAccessToken && !needsRefresh(state.bundle, Date.now())) {
        return grantFor(state.bundle);
      }
      return this.#refreshOnce(userId, { kind: 'unauthorized', rejected: rejectedAccessToken });
    });
  }

  /**
   * The access token and the caller's model catalog together, so resolving a request's model
   * costs no call beyond the token's. `knownRevision` is the catalog the caller already holds: it
   * is not sent again. Without any copy for the account the catalog is read first (one read for
   * all concurrent callers); a stale copy is served as it is and flagged for revalidation, unless
   * `fresh` asks to wait for it (GET /v1/models).
   */
  async getModelAccess(
    userId: string,
    options: { knownRevision?: string | null; fresh?: boolean; seenVersion?: number | null } = {},
  ): Promise<ModelAccess> {
    const grant = await this.getAccessToken(userId, options.seenVersion ?? null);
    if (!grant.ok) return { grant, models: null };
    const clientVersion = codexClientVersion(this.env);
    const stored = this.#catalog.usable(grant.accountId, clientVersion);
    const now = Date.now();
    // With no copy, the first read is awaited once per object life; after a failure the bundled
    // catalog is served at once and reads are retried in the background only.
    const wait = stored ? options.fresh === true && !this.#catalog.isFresh(stored, now) : this.#catalog.neverFailed() || options.fresh === true;
    if (wait && this.#catalog.mayAsk(now)) await this.#readCatalog(grant, clientVersion);
    return { grant, models: this.#catalog.answer(grant.accountId, clientVersion, options.knownRevision ?? null, Date.now()) };
  }

  /**
   * The key check of every authenticated request, in the same call that brings the token and the
   * catalog: the key's limits and today's counts live here, so checking and counting a request
   * costs no round trip of its own, and concurrent requests are counted one at a time.
   */
  async admit(userId: string, request: AdmitRequest): Promise<Admission> {
    const access = this.getModelAccess(userId, { knownRevision: request.knownRevision, seenVersion: request.seenVersion });
    const claudeModels = this.#claudeModelsOf(userId);
    const policy = await this.#keys.policy(this.env.DB, userId, request.keyId, Date.now()).catch((err: unknown) => {
      access.catch(() => undefined);
      claudeModels.catch(() => undefined);
      throw err;
    });
    // Nothing is awaited between the check and the count.
    const admission: KeyAdmission = policy
      ? this.#keys.admit(policy, Date.now(), request.modelRequest)
      : { ok: false, refusal: { reason: 'unknown' } };
    if (!admission.ok) {
      access.catch(() => undefined);
      claudeModels.catch(() => undefined);
      return admission;
    }
    this.#scheduleAlarm(Date.now() + USAGE_FLUSH_DELAY_MS);
    const [granted, entries] = await Promise.all([access, claudeModels]);
    return { ...admission, access: granted, claudeModels: entries };
  }

  /** Replaces the user's Claude model entries (empty: the server's defaults); /v1/messages uses them from the next request. */
  async setClaudeModels(userId: string, entries: Record<string, string>): Promise<void> {
    try {
      await replaceClaudeModels(this.env.DB, userId, new Map(Object.entries(entries)), Date.now());
    } finally {
      this.#claudeModels = null;
    }
  }

  #claudeModelsOf(userId: string): Promise<Record<string, string>> {
    if (!this.#claudeModels) {
      const loading = listClaudeModels(this.env.DB, userId).then((entries) => Object.fromEntries(entries));
      // A failed read is not kept: the next request reads again.
      loading.catch(() => {
        if (this.#claudeModels === loading) this.#claudeModels = null;
      });
      this.#claudeModels = loading;
    }
    return this.#claudeModels;
  }

  /** A counted request never reached the model (refused before the upstream call): it no longer counts. */
  async releaseRequest(_userId: string, keyId: string, dayStart: number): Promise<void> {
    this.#keys.release(keyId, dayStart);
  }

  /** What a finished model request used: today's token count at once, D1's `key_usage` within a minute. */
  async recordUsage(userId: string, usage: UsageRecord): Promise<void> {
    this.#keys.record(userId, usage, Date.now());
    this.#scheduleAlarm(Date.now() + USAGE_FLUSH_DELAY_MS);
  }

  /** Today's (UTC) count of one key. */
  async keyUsageToday(_userId: string, keyId: string): Promise<DayCount> {
    return this.#keys.today(keyId, Date.now());
  }

  /** The model ids the account offers (listed ones), for the limits page; null without a usable link. */
  async accountModelIds(userId: string): Promise<string[] | null> {
    const access = await this.getModelAccess(userId);
    const catalog = access.models?.catalog;
    return catalog ? catalog.models.filter((model) => model.listed).map((model) => model.slug) : null;
  }

  /** Revokes a key; requests with it are refused from the moment this returns. False when not the user's or already revoked. */
  async revokeKey(userId: string, keyId: string): Promise<boolean> {
    try {
      return await revokeApiKey(this.env.DB, userId, keyId, Date.now());
    } finally {
      this.#keys.invalidate();
    }
  }

  /** Sets a key's limits; they apply from the next request. False when not the user's or revoked. */
  async setKeyLimits(userId: string, keyId: string, limits: ApiKeyLimits): Promise<boolean> {
    try {
      return await updateApiKeyLimits(this.env.DB, userId, keyId, limits);
    } finally {
      this.#keys.invalidate();
    }
  }

  /**
   * Revalidates the catalog when it is stale, or when a model answer named a catalog ETag
   * (`x-models-etag`) other than ours. Called after the answer (waitUntil), so it may wait.
   */
  async refreshModelCatalog(userId: string, seenEtag: string | null): Promise<void> {
    const grant = await this.getAccessToken(userId);
    if (!grant.ok) return;
    const clientVersion = codexClientVersion(this.env);
    const stored = this.#catalog.usable(grant.accountId, clientVersion);
    const now = Date.now();
    if (stored && (seenEtag === null ? this.#catalog.isFresh(stored, now) : stored.etag === seenEtag)) return;
    if (!this.#catalog.mayAsk(now)) return;
    await this.#readCatalog(grant, clientVersion);
  }

  #readCatalog(grant: Extract<AccessGrant, { ok: true }>, clientVersion: string): Promise<void> {
    return this.#catalog.revalidate(grant.accountId, clientVersion, (etag) =>
      fetchModelCatalog(this.env, { accessToken: grant.accessToken, accountId: grant.accountId, etag }),
    );
  }

  /** Keeps the newest snapshot (requests finish out of order). */
  async recordRateLimits(_userId: string, snapshot: RateLimitSnapshot): Promise<void> {
    const current = this.ctx.storage.kv.get<RateLimitSnapshot>(RATE_LIMITS_KEY);
    if (current && current.capturedAt > snapshot.capturedAt) return;
    this.ctx.storage.kv.put(RATE_LIMITS_KEY, mergeRateLimits(current ?? null, snapshot));
  }

  async getRateLimits(_userId: string): Promise<RateLimitSnapshot | null> {
    return this.ctx.storage.kv.get<RateLimitSnapshot>(RATE_LIMITS_KEY) ?? null;
  }

  /** The user's tokens were replaced in D1 (provision, onboarding): forget what is cached. */
  async reset(_userId: string): Promise<void> {
    this.#state = null;
    // A reconnect may come with another plan, and so another catalog.
    this.#catalog.markStale();
    // A D1 read already in flight may predate the replacement: its answer must not be adopted.
    this.#generation += 1;
    this.#loading = null;
  }

  /**
   * The account was deleted: drop everything this object holds for the user, the pending
   * refresh record (encrypted tokens) and the usage snapshot included, and any retry alarm.
   */
  async forget(userId: string): Promise<void> {
    await this.reset(userId);
    this.#pending = null;
    this.#keys.forget();
    this.#claudeModels = null;
    this.#alarmAt = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** Writes the usage of the last minute to D1, and retries the D1 write of a pending refresh. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const pending = this.#pending;
    if (pending) await this.#flushPending(pending);
    if (!this.#keys.hasPending) return;
    try {
      await this.#keys.flush(this.env.DB);
    } catch (err) {
      log('error', { event: 'key_usage_flush_deferred', retryInMs: USAGE_FLUSH_RETRY_MS, error: describe(err) });
      this.#scheduleAlarm(Date.now() + USAGE_FLUSH_RETRY_MS);
    }
  }

  /** One alarm serves both jobs: it is moved only to an earlier time, never later. */
  #scheduleAlarm(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    const setting = (async () => {
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > at) await this.ctx.storage.setAlarm(at);
      else this.#alarmAt = current;
    })();
    setting.catch((err: unknown) => {
      this.#alarmAt = null;
      log('error', { event: 'alarm_set_failed', error: describe(err) });
    });
  }

  // ---------------------------------------------------------------------------------------------

  async #guard(userId: string, run: () => Promise<AccessGrant>): Promise<AccessGrant> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof DecryptError) {
        log('error', { event: 'codex_tokens_unreadable', userId, reason: err.reason, error: err.message });
        return unreadableGrant(this.env.PUBLIC_APP_ORIGIN);
      }
      log('error', { event: 'auth_broker_error', userId, error: describe(err) });
      // A misconfigured secret is the operator's problem: let it surface as a 500.
      if (err instanceof ConfigError) throw err;
      return unavailableGrant();
    }
  }

  #notActiveGrant(state: LinkState): AccessGrant {
    return state.kind === 'missing' ? notConnectedGrant(this.env.PUBLIC_APP_ORIGIN) : reauthGrant(this.env.PUBLIC_APP_ORIGIN);
  }

  /**
   * The cached state when younger than `maxAgeMs`, else a D1 read shared by concurrent callers.
   * When D1 cannot be read, the state already in memory is served: a D1 blip must not fail
   * requests that a cached token can serve.
   */
  #current(userId: string, maxAgeMs: number): Promise<LinkState> {
    const state = this.#state;
    if (state && Date.now() - state.loadedAt < maxAgeMs) return Promise.resolve(state);
    if (!this.#loading) {
      const loading: Promise<LinkState> = this.#load(userId, this.#generation)
        .catch((err: unknown) => {
          const cached = this.#state;
          if (!cached || err instanceof ConfigError || err instanceof DecryptError) throw err;
          log('warn', { event: 'codex_tokens_read_failed', userId, servedFromMemory: true, error: describe(err) });
          return cached;
        })
        .finally(() => {
          if (this.#loading === loading) this.#loading = null;
        });
      this.#loading = loading;
    }
    return this.#loading;
  }

  async #load(userId: string, generation: number): Promise<LinkState> {
    const row = await readCodexTokens(this.env.DB, userId);
    if (generation !== this.#generation) return this.#current(userId, 0);
    const now = Date.now();
    if (!row) {
      this.#dropPending('row_missing');
      return this.#adopt({ kind: 'missing', version: 0, loadedAt: now });
    }
    const pending = this.#pending;
    const pendingApplies = pending !== null && pending.userId === userId && pending.baseVersion === row.version;
    let next: LinkState;
    const known = this.#state;
    if (known && known.kind !== 'missing' && row.version === known.version) {
      // Nothing was written to D1 since: keep the decrypted (or remembered reauth) state.
      next = { ...known, loadedAt: now };
    } else if (row.status === 'reauth_required') {
      next = { kind: 'reauth', version: row.version, loadedAt: now };
    } else if (pendingApplies) {
      // D1 still holds the tokens the refresh started from: the pending ones are newer.
      next = { kind: 'active', version: row.version, bundle: await this.#decrypt(userId, pending.fields.ciphertext), loadedAt: now };
    } else {
      next = { kind: 'active', version: row.version, bundle: await this.#decrypt(userId, row.ciphertext), loadedAt: now };
    }
    if (generation !== this.#generation) return this.#current(userId, 0);
    if (pending && !pendingApplies) this.#dropPending('superseded_by_d1');
    const adopted = this.#adopt(next);
    if (pendingApplies && next.kind === 'active') await this.#flushPending(pending);
    return adopted;
  }

  /** Installs `next` unless a newer version is already known (a slower read finished late). */
  #adopt(next: LinkState): LinkState {
    const known = this.#state;
    // A missing row is always believed: versions restart when a row is created again.
    if (known && next.kind !== 'missing' && known.version > next.version) return known;
    this.#state = next;
    return next;
  }

  async #decrypt(userId: string, ciphertext: string): Promise<TokenBundle> {
    return decryptTokenBundle(await tokenKeyring(this.env), userId, ciphertext);
  }

  /** Joins the refresh in flight, or starts the one refresh every concurrent caller will share. */
  #refreshOnce(userId: string, trigger: RefreshTrigger): Promise<AccessGrant> {
    this.#inflight ??= this.#refresh(userId, trigger).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #refresh(userId: string, trigger: RefreshTrigger): Promise<AccessGrant> {
    const started = Date.now();
    // Always re-read D1 before spending a refresh token: provision or onboarding may have replaced it.
    const state = await this.#current(userId, 0);
    if (state.kind !== 'active') return this.#notActiveGrant(state);
    const replaced = trigger.kind === 'unauthorized' && state.bundle.accessToken !== trigger.rejected;
    if ((trigger.kind === 'expiring' || replaced) && !needsRefresh(state.bundle, Date.now())) return grantFor(state.bundle);

    let result: TokenEndpointResult;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      result = await withTimeout(REFRESH_ATTEMPT_TIMEOUT_MS, (signal) => refreshTokens(this.env, state.bundle.refreshToken, signal));
      const delay = REFRESH_RETRY_DELAYS_MS[attempts - 1];
      if (result.kind !== 'transient' || delay === undefined) break;
      await sleep(jittered(delay));
    }
    // One structured line per refresh, whatever the outcome; never a token.
    const report = (level: 'info' | 'warn', fields: Record<string, unknown>) =>
      log(level, { event: 'codex_token_refresh', userId, trigger: trigger.kind, attempts, ...fields, ms: Date.now() - started });

    if (result.kind === 'permanent') {
      await this.#markReauth(userId, state.version, result.code);
      report('warn', { outcome: 'reauth_required', status: result.status, code: result.code });
      return reauthGrant(this.env.PUBLIC_APP_ORIGIN);
    }
    if (result.kind === 'transient') {
      report('warn', { outcome: 'unavailable', status: result.status, code: result.code });
      // Refreshing ahead of expiry is opportunistic: a token that still works can be served.
      if (trigger.kind === 'expiring' && stillUsable(state.bundle, Date.now())) return grantFor(state.bundle);
      return unavailableGrant();
    }

    const bundle = mergeRefreshed(state.bundle, result.tokens, Date.now());
    const d1 = await this.#persistRefreshed(userId, state.version, bundle);
    report('info', { outcome: 'refreshed', d1, rotated: result.tokens.refreshToken !== undefined });
    if (d1 === 'conflict') {
      // D1 was replaced while we refreshed (a reconnect): its tokens win over ours.
      const latest = await this.#current(userId, 0);
      return latest.kind === 'active' ? grantFor(latest.bundle) : this.#notActiveGrant(latest);
    }
    return grantFor(bundle);
  }

  /**
   * Makes the rotated tokens durable before they are handed out: DO storage first (synchronous
   * and confirmed before any output leaves the object), then D1 over `baseVersion`.
   */
  async #persistRefreshed(userId: string, baseVersion: number, bundle: TokenBundle): Promise<FlushResult> {
    const now = Date.now();
    const fields = await sealTokenBundle(await tokenKeyring(this.env), userId, bundle);
    const pending: PendingRefresh = { userId, baseVersion, fields, createdAt: now, flushAttempts: 0 };
    this.ctx.storage.kv.put(PENDING_REFRESH_KEY, pending);
    this.#pending = pending;
    this.#adopt({ kind: 'active', version: baseVersion, bundle, loadedAt: now });
    return this.#flushPending(pending);
  }

  /** Writes a pending record to D1 (one write at a time). On failure it stays and the alarm retries. */
  #flushPending(pending: PendingRefresh): Promise<FlushResult> {
    if (this.#flushing?.pending !== pending) {
      const promise = this.#writePending(pending).finally(() => {
        if (this.#flushing?.promise === promise) this.#flushing = null;
      });
      this.#flushing = { pending, promise };
    }
    return this.#flushing.promise;
  }

  async #writePending(pending: PendingRefresh): Promise<FlushResult> {
    let written: boolean;
    try {
      written = await updateCodexTokensIfVersion(this.env.DB, pending.userId, pending.baseVersion, pending.fields, Date.now());
    } catch (err) {
      if (this.#pending !== pending) return 'conflict';
      pending.flushAttempts += 1;
      this.ctx.storage.kv.put(PENDING_REFRESH_KEY, pending);
      const delay = PENDING_FLUSH_RETRY_MS[Math.min(pending.flushAttempts, PENDING_FLUSH_RETRY_MS.length) - 1] ?? 60_000;
      this.#scheduleAlarm(Date.now() + delay);
      log('error', { event: 'codex_tokens_write_deferred', userId: pending.userId, attempts: pending.flushAttempts, retryInMs: delay, error: describe(err) });
      return 'deferred';
    }
    if (this.#pending === pending) this.#dropPending(written ? null : 'superseded_by_d1');
    const state = this.#state;
    if (written && state?.kind === 'active' && state.version === pending.baseVersion) {
      this.#state = { ...state, version: pending.baseVersion + 1 };
    }
    if (!written) this.#state = null;
    return written ? 'written' : 'conflict';
  }

  #dropPending(reason: string | null): void {
    if (!this.#pending) return;
    if (reason) log('warn', { event: 'pending_refresh_dropped', userId: this.#pending.userId, reason });
    this.#pending = null;
    this.ctx.storage.kv.delete(PENDING_REFRESH_KEY);
  }

  /** Flags the link in D1 and remembers it, so no more token-endpoint calls happen until reset. */
  async #markReauth(userId: string, version: number, code: string): Promise<void> {
    this.#dropPending('refresh_token_rejected');
    let marked: boolean | null = null;
    try {
      marked = await markCodexReauthRequiredIfVersion(this.env.DB, userId, version, code, Date.now());
    } catch (err) {
      log('error', { event: 'codex_reauth_mark_failed', userId, error: describe(err) });
    }
    if (marked === false) {
      this.#state = null; // reconnected meanwhile: the next call reads the new tokens
      return;
    }
    const now = Date.now();
    this.#state = { kind: 'reauth', version: marked ? version + 1 : version, loadedAt: now };
  }
}

type FlushResult = 'written' | 'deferred' | 'conflict';

/** Runs `task` with a signal that aborts after `ms`; the timer is cleared as soon as it settles. */
async function withTimeout<T>(ms: number, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${ms} ms`)), ms);
  try {
    return await task(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Error name and message only. None of the errors reaching here carries a token. */
function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function log(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>): void {
  console[level](JSON.stringify(fields));
}
