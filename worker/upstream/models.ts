/**
 * The models this proxy offers, as data. Each Codex model is listed once with the reasoning
 * efforts it accepts; the `<slug>-<effort>` aliases (e.g. `gpt-5.5-high`) are generated from
 * this table, so adding a model is one edit here. Tools that only let users pick a model name
 * (Cursor, Continue) choose an effort through those aliases.
 */

/** Every effort value the Codex backend knows; each model accepts a subset. */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

export interface CodexModel {
  slug: string;
  efforts: readonly ReasoningEffort[];
  defaultEffort: ReasoningEffort;
}

const FULL: readonly ReasoningEffort[] = ['low', 'medium', 'high', 'xhigh'];

/** Newest first: the order clients show in their model pickers. */
export const CODEX_MODELS: readonly CodexModel[] = [
  { slug: 'gpt-5.5', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.5-codex', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.4', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.4-mini', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.3-codex', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.2', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.2-codex', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.1-codex-max', efforts: FULL, defaultEffort: 'medium' },
  { slug: 'gpt-5.1-codex-mini', efforts: ['medium', 'high'], defaultEffort: 'medium' },
];

/** The `created` field of every listed model (2026-01-01): the backend gives no dates. */
const MODELS_CREATED = 1_767_225_600;
const OWNED_BY = 'openai';

export interface ResolvedModel {
  slug: string;
  /** The effort an alias selects; null for a plain slug (the request's own effort applies). */
  effort: ReasoningEffort | null;
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

function buildIndex(models: readonly CodexModel[]): Map<string, ResolvedModel> {
  const index = new Map<string, ResolvedModel>();
  const add = (id: string, resolved: ResolvedModel) => {
    // A generated alias must never shadow a real slug (or another alias): fail at load time.
    if (index.has(id)) throw new Error(`model id "${id}" is listed twice`);
    index.set(id, resolved);
  };
  for (const model of models) add(model.slug, { slug: model.slug, effort: null });
  for (const model of models) {
    for (const effort of model.efforts) add(`${model.slug}-${effort}`, { slug: model.slug, effort });
  }
  return index;
}

const MODEL_INDEX = buildIndex(CODEX_MODELS);

/** The model (and alias effort) for a client's model id, or null when we do not serve it. */
export function resolveModel(id: string): ResolvedModel | null {
  return MODEL_INDEX.get(id.trim().toLowerCase()) ?? null;
}

/** The data row of one model slug, or null. */
export function findModel(slug: string): CodexModel | null {
  return CODEX_MODELS.find((model) => model.slug === slug) ?? null;
}

/** One entry of `GET /v1/models`, or null for an unknown id. */
export function describeModel(id: string): OpenAiModel | null {
  const key = id.trim().toLowerCase();
  return MODEL_INDEX.has(key) ? { id: key, object: 'model', created: MODELS_CREATED, owned_by: OWNED_BY } : null;
}

/** `GET /v1/models`: every slug, then every effort alias. */
export function listModels(): OpenAiModelList {
  return {
    object: 'list',
    data: [...MODEL_INDEX.keys()].map((id) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: OWNED_BY })),
  };
}

export function isReasoningEffort(value: unknown): value is ReasoningEffort {
  return typeof value === 'string' && (REASONING_EFFORTS as readonly string[]).includes(value);
}
