/**
 * Reads one account's model catalog from the backend: `GET /codex/models?client_version=…`
 * through the configured egress, revalidated with `If-None-Match`. The AuthBroker calls this and
 * keeps the result; nothing here is cached.
 */
import type { CatalogModel } from '../translate/model-catalog.ts';
import { codexClientVersion, codexHeaders, upstreamFetch } from './egress.ts';
import { parseModelsBody } from './models.ts';

/** How long one catalog request may take before the bundled or the stored copy is served. */
export const CATALOG_FETCH_TIMEOUT_MS = 5_000;
/** Largest catalog body read (today's is a few hundred KiB with every model's base instructions). */
const MAX_CATALOG_BYTES = 4 * 1024 * 1024;

export type CatalogFetch =
  | { kind: 'modified'; etag: string | null; models: CatalogModel[] }
  | { kind: 'not_modified' }
  | { kind: 'failed'; detail: string };

export interface CatalogFetchRequest {
  accessToken: string;
  accountId: string;
  /** The ETag of the copy we hold, sent as If-None-Match. */
  etag: string | null;
  signal?: AbortSignal;
}

/** One catalog request. Never throws: every failure is a `failed` answer with a loggable detail (no secret). */
export async function fetchModelCatalog(env: Env, request: CatalogFetchRequest): Promise<CatalogFetch> {
  const clientVersion = codexClientVersion(env);
  const headers = codexHeaders({ accessToken: request.accessToken, accountId: request.accountId, clientVersion });
  headers.set('Accept', 'application/json');
  headers.delete('Content-Type');
  if (request.etag) headers.set('If-None-Match', request.etag);
  try {
    const response = await upstreamFetch(env, 'models', {
      method: 'GET',
      headers,
      search: `?client_version=${encodeURIComponent(clientVersion)}`,
      signal: request.signal ?? AbortSignal.timeout(CATALOG_FETCH_TIMEOUT_MS),
    });
    if (response.status === 304) {
      await response.body?.cancel();
      return { kind: 'not_modified' };
    }
    if (!response.ok) {
      await response.body?.cancel();
      return { kind: 'failed', detail: `models endpoint answered ${response.status}` };
    }
    const text = await response.text();
    if (text.length > MAX_CATALOG_BYTES) return { kind: 'failed', detail: 'models body too large' };
    const parsed = parseModelsBody(JSON.parse(text));
    if (!parsed) return { kind: 'failed', detail: 'models body is not a catalog' };
    // An empty catalog is what a too-old client_version gets: keep the last good copy instead.
    if (parsed.models.length === 0) return { kind: 'failed', detail: 'models endpoint listed no models' };
    return { kind: 'modified', etag: response.headers.get('etag') ?? parsed.etag, models: parsed.models };
  } catch (err) {
    return { kind: 'failed', detail: err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error' };
  }
}
