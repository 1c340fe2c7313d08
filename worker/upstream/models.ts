/**
 * Model facts from the Codex backend: how its catalog (`GET /codex/models`) reads, the bundled
 * copy of today's catalog served when the backend cannot be asked, and the slugs it has retired.
 * Pure: the fetch lives in model-catalog.ts, the per-account copy in the user's AuthBroker.
 */
import { z } from 'zod';
import type { CatalogModel, ModelCatalog } from '../translate/model-catalog.ts';

/** A bundled model: a catalog row plus the oldest client the backend serves it to. */
interface BundledModel extends CatalogModel {
  minimalClientVersion: string;
}

const FULL = ['low', 'medium', 'high', 'xhigh'];

/**
 * Today's catalog (CODEX-BACKEND-2026.md §1.3, as openai/codex peers embed it), newest first.
 * Used only when an account's own catalog cannot be read; refresh it when the backend changes.
 */
const BUNDLED_MODELS: readonly BundledModel[] = [
  { slug: 'gpt-5.6-sol', efforts: [...FULL, 'max', 'ultra'], defaultEffort: 'medium', listed: true, minimalClientVersion: '0.144.0' },
  { slug: 'gpt-5.6-terra', efforts: [...FULL, 'max', 'ultra'], defaultEffort: 'medium', listed: true, minimalClientVersion: '0.144.0' },
  { slug: 'gpt-5.6-luna', efforts: [...FULL, 'max'], defaultEffort: 'medium', listed: true, minimalClientVersion: '0.144.0' },
  { slug: 'gpt-5.5', efforts: FULL, defaultEffort: 'medium', listed: true, minimalClientVersion: '0.124.0' },
  { slug: 'gpt-5.4', efforts: FULL, defaultEffort: 'medium', listed: true, minimalClientVersion: '0.98.0' },
  { slug: 'gpt-5.4-mini', efforts: FULL, defaultEffort: 'medium', listed: true, minimalClientVersion: '0.98.0' },
  { slug: 'gpt-5.3-codex-spark', efforts: FULL, defaultEffort: 'medium', listed: true, minimalClientVersion: '0.100.0' },
  { slug: 'codex-auto-review', efforts: [...FULL, 'max'], defaultEffort: 'medium', listed: false, minimalClientVersion: '0.98.0' },
];

/**
 * Slugs that earlier catalogs (and earlier versions of this proxy) offered and the backend now
 * refuses ("The '<slug>' model is not supported when using Codex with a ChatGPT account").
 * A live catalog that lists one again wins: this only words the 404 for ids no catalog has.
 */
export const RETIRED_MODELS: readonly string[] = [
  'gpt-5.5-codex',
  'gpt-5.3-codex',
  'gpt-5.2',
  'gpt-5.2-codex',
  'gpt-5.1',
  'gpt-5.1-codex',
  'gpt-5.1-codex-max',
  'gpt-5.1-codex-mini',
  'gpt-5',
  'gpt-5-codex',
  'codex-mini-latest',
];

/** `a >= b` for dotted versions (`0.144.0`); a missing part counts as 0. */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** The bundled catalog as a client of `clientVersion` would be served it (the backend leaves out newer models). */
export function bundledModels(clientVersion: string): CatalogModel[] {
  return BUNDLED_MODELS.filter((model) => versionAtLeast(clientVersion, model.minimalClientVersion)).map(
    ({ minimalClientVersion: _gate, ...model }) => model,
  );
}

/** A catalog (models plus the retired list) from a list of models. */
export function catalogOf(models: readonly CatalogModel[]): ModelCatalog {
  return { models, retired: RETIRED_MODELS };
}

// The backend's ModelInfo has many more fields (openai/codex models.rs); only these are read,
// and a row that lacks a slug is skipped rather than failing the whole catalog.
const levelSchema = z.looseObject({ effort: z.string().min(1) });
const modelInfoSchema = z.looseObject({
  slug: z.string().min(1),
  visibility: z.string().nullish(),
  default_reasoning_level: z.string().nullish(),
  supported_reasoning_levels: z.array(z.unknown()).nullish(),
  priority: z.number().nullish(),
});
const modelsBodySchema = z.looseObject({ models: z.array(z.unknown()), etag: z.string().nullish() });

function toCatalogModel(info: z.infer<typeof modelInfoSchema>): CatalogModel {
  const efforts = (info.supported_reasoning_levels ?? []).flatMap((level) => {
    const parsed = levelSchema.safeParse(level);
    return parsed.success ? [parsed.data.effort] : [];
  });
  const wanted = info.default_reasoning_level ?? null;
  const defaultEffort = wanted !== null && efforts.includes(wanted) ? wanted : efforts.includes('medium') ? 'medium' : (efforts[0] ?? null);
  return { slug: info.slug, efforts, defaultEffort, listed: info.visibility === 'list' };
}

/**
 * The models of a `GET /codex/models` body (`{models: ModelInfo[], etag?}`), ordered by their
 * `priority`, and the body's etag (Codex uses it when the ETag header is missing). Null when the
 * body is not a catalog at all.
 */
export function parseModelsBody(body: unknown): { models: CatalogModel[]; etag: string | null } | null {
  const parsed = modelsBodySchema.safeParse(body);
  if (!parsed.success) return null;
  const rows = parsed.data.models.flatMap((row, position) => {
    const info = modelInfoSchema.safeParse(row);
    return info.success ? [{ info: info.data, position }] : [];
  });
  rows.sort((a, b) => (a.info.priority ?? Infinity) - (b.info.priority ?? Infinity) || a.position - b.position);
  return { models: rows.map((row) => toCatalogModel(row.info)), etag: parsed.data.etag ?? null };
}
