/**
 * The models one account may use, as data: which client ids resolve to which Codex model and
 * effort, and what `GET /v1/models` lists. The catalog itself comes from worker/upstream/ (the
 * account's live catalog, or the bundled one when the backend cannot be asked); this module only
 * reads what it is given. Pure: no I/O.
 */

/** One model of an account's catalog, reduced to what serving a request needs. */
export interface CatalogModel {
  slug: string;
  /** Efforts the model accepts (`supported_reasoning_levels`), in the backend's order. */
  efforts: readonly string[];
  /** The effort sent when a request names none; null for a model without reasoning levels. */
  defaultEffort: string | null;
  /** `visibility: list`: shown by `GET /v1/models`. Hidden models can still be called by name. */
  listed: boolean;
}

export interface ModelCatalog {
  /** In the backend's order (its `priority`): the order model pickers show. */
  models: readonly CatalogModel[];
  /** Slugs the backend no longer serves, so a request for one gets a clearer 404 than a typo. */
  retired: readonly string[];
}

export interface ResolvedModel {
  model: CatalogModel;
  /** The effort an alias (`gpt-5.5-high`) selects; null for a plain slug. */
  effort: string | null;
}

/** A catalog with its id lookup built once (per catalog revision, not per request). */
export interface ModelIndex {
  catalog: ModelCatalog;
  /** Lower-cased client id → model and alias effort; slugs first, then `<slug>-<effort>` aliases. */
  ids: ReadonlyMap<string, ResolvedModel>;
}

export interface OpenAiModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface OpenAiModelList {
  object: 'list';
  data: OpenAiModel[];
}

/** The `created` field of every listed model (2026-01-01): the backend gives no dates. */
const MODELS_CREATED = 1_767_225_600;

/**
 * Indexes a catalog. Each model answers to its slug and to `<slug>-<effort>` for every effort it
 * supports, so tools that only offer a model picker (Cursor, Continue) can choose an effort. A
 * live catalog is data we do not control: an alias that would shadow a real slug (or an earlier
 * alias) is left out rather than failing the request.
 */
export function buildModelIndex(catalog: ModelCatalog): ModelIndex {
  const ids = new Map<string, ResolvedModel>();
  for (const model of catalog.models) {
    const key = model.slug.toLowerCase();
    if (!ids.has(key)) ids.set(key, { model, effort: null });
  }
  for (const model of catalog.models) {
    for (const effort of model.efforts) {
      const key = `${model.slug}-${effort}`.toLowerCase();
      if (!ids.has(key)) ids.set(key, { model, effort });
    }
  }
  return { catalog, ids };
}

/** The model (and alias effort) a client's id names, or null when the account has no such model. */
export function lookupModel(index: ModelIndex, id: string): ResolvedModel | null {
  return index.ids.get(id.trim().toLowerCase()) ?? null;
}

/** One entry of `GET /v1/models`. */
export function modelObject(id: string): OpenAiModel {
  return { id, object: 'model', created: MODELS_CREATED, owned_by: 'openai' };
}

/** `GET /v1/models`: every listed slug, then the effort aliases of those models. */
export function listModels(index: ModelIndex): OpenAiModelList {
  const data: OpenAiModel[] = [];
  for (const [id, resolved] of index.ids) if (resolved.model.listed) data.push(modelObject(id));
  return { object: 'list', data };
}
