/**
 * The user's copy of their account's model catalog, kept by their AuthBroker (DO storage key
 * `model_catalog`, docs/storage.md). It decides when the copy is fresh, revalidates it once for
 * all concurrent callers, and falls back to the bundled catalog when the backend cannot be read.
 */
import type { CatalogModel, ModelCatalog } from '../translate/model-catalog.ts';
import type { CatalogFetch } from '../upstream/model-catalog.ts';
import { bundledModels, catalogOf } from '../upstream/models.ts';

/** DO storage key of the StoredCatalog. */
export const MODEL_CATALOG_KEY = 'model_catalog';
/** A copy younger than this is used without asking the backend (Codex CLI uses the same 5 minutes). */
export const CATALOG_TTL_MS = 5 * 60_000;
/** After a failed read, the backend is not asked again for this long (the fallback is served meanwhile). */
export const CATALOG_RETRY_MS = 60_000;

/** The catalog as the backend last sent it for one account. No secret. */
export interface StoredCatalog {
  accountId: string;
  /** The `client_version` it was read with: a different setting reads it again. */
  clientVersion: string;
  /** The backend's ETag, sent back as If-None-Match. */
  etag: string | null;
  models: CatalogModel[];
  /** New (random) whenever the models change: the Worker's isolate copies are keyed by it. */
  revision: string;
  /** When the models last changed (a 200). */
  fetchedAt: number;
  /** When the backend last confirmed them (a 200 or a 304). */
  checkedAt: number;
}

/** What a request learns about the caller's catalog. */
export interface CatalogAnswer {
  revision: string;
  /** The ETag the catalog came with (null for the bundled one): a model answer naming another means it changed. */
  etag: string | null;
  source: 'account' | 'bundled';
  /** Omitted (null) when the caller already holds this revision. */
  catalog: ModelCatalog | null;
  /** True when the caller should ask for a revalidation after answering (stale-while-revalidate). */
  stale: boolean;
}

type Fetcher = (etag: string | null) => Promise<CatalogFetch>;

export class ModelCatalogStore {
  readonly #kv: SyncKvStorage;
  #inflight: Promise<void> | null = null;
  /** When the last read failed; in memory only, so a restarted object simply tries again. */
  #failedAt: number | null = null;

  constructor(kv: SyncKvStorage) {
    this.#kv = kv;
  }

  /** The stored copy when it belongs to this account and client version. */
  usable(accountId: string, clientVersion: string): StoredCatalog | null {
    const stored = this.#kv.get<StoredCatalog>(MODEL_CATALOG_KEY);
    return stored && stored.accountId === accountId && stored.clientVersion === clientVersion ? stored : null;
  }

  isFresh(stored: StoredCatalog, now: number): boolean {
    return now - stored.checkedAt < CATALOG_TTL_MS;
  }

  /** False during the pause after a failed read. */
  mayAsk(now: number): boolean {
    return this.#failedAt === null || now - this.#failedAt >= CATALOG_RETRY_MS;
  }

  /** True before the first read attempt of this object's life (or after a success). */
  neverFailed(): boolean {
    return this.#failedAt === null;
  }

  /** Makes the next request revalidate (a reconnect may have changed the plan). */
  markStale(): void {
    const stored = this.#kv.get<StoredCatalog>(MODEL_CATALOG_KEY);
    if (stored) this.#kv.put(MODEL_CATALOG_KEY, { ...stored, checkedAt: 0 });
  }

  /** What to tell a caller holding `knownRevision`. */
  answer(accountId: string, clientVersion: string, knownRevision: string | null, now: number): CatalogAnswer {
    const stored = this.usable(accountId, clientVersion);
    if (stored) {
      return {
        revision: stored.revision,
        etag: stored.etag,
        source: 'account',
        catalog: knownRevision === stored.revision ? null : catalogOf(stored.models),
        stale: !this.isFresh(stored, now) && this.mayAsk(now),
      };
    }
    const revision = `bundled:${clientVersion}`;
    return {
      revision,
      etag: null,
      source: 'bundled',
      catalog: knownRevision === revision ? null : catalogOf(bundledModels(clientVersion)),
      stale: this.mayAsk(now),
    };
  }

  /** Reads the catalog (conditionally when a copy exists); concurrent callers share one read. */
  revalidate(accountId: string, clientVersion: string, fetcher: Fetcher): Promise<void> {
    this.#inflight ??= this.#read(accountId, clientVersion, fetcher).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #read(accountId: string, clientVersion: string, fetcher: Fetcher): Promise<void> {
    const stored = this.usable(accountId, clientVersion);
    const result = await fetcher(stored?.etag ?? null);
    const now = Date.now();
    if (result.kind === 'failed') {
      this.#failedAt = now;
      console.warn(JSON.stringify({ event: 'model_catalog_fetch_failed', accountKnown: stored !== null, detail: result.detail }));
      return;
    }
    this.#failedAt = null;
    if (result.kind === 'not_modified') {
      if (stored) this.#kv.put(MODEL_CATALOG_KEY, { ...stored, checkedAt: now });
      return;
    }
    const next: StoredCatalog = {
      accountId,
      clientVersion,
      etag: result.etag,
      models: result.models,
      revision: crypto.randomUUID(),
      fetchedAt: now,
      checkedAt: now,
    };
    this.#kv.put(MODEL_CATALOG_KEY, next);
  }
}
