/**
 * Which GPT model answers a Claude model id. Claude Code names `claude-…` models and switches
 * between a large and a small one, so each user keeps a small map from Claude model names or
 * families (`opus`, `sonnet`, `haiku`) to model ids of their catalog (a slug, or `<slug>-<effort>`);
 * its format is in shared/claude-models.ts. The server's default map is the `CLAUDE_MODEL_MAP`
 * Worker var; a user's own entries (set on the dashboard) win. Pure: no I/O.
 */
import { CLAUDE_FAMILIES, parseServerClaudeModelMap } from '../shared/claude-models.ts';
import { ApiError } from '../shared/errors.ts';
import type { ModelIndex } from './model-catalog.ts';

/** Claude model name (or family) → a model id of the caller's catalog. */
export type ClaudeModelMap = ReadonlyMap<string, string>;

/** The server's map (`CLAUDE_MODEL_MAP`, else the default); a broken setting is a server error. */
export function serverClaudeModelMap(env: { CLAUDE_MODEL_MAP?: string }): Map<string, string> {
  try {
    return parseServerClaudeModelMap(env);
  } catch (err) {
    throw new ApiError('internal_error', 'The server had an unexpected error. Please try again.', {
      detail: `CLAUDE_MODEL_MAP: ${(err as Error).message}`,
    });
  }
}

/** The server's map with the user's own entries over it. */
export function mergedClaudeModelMap(server: ClaudeModelMap, user: ClaudeModelMap): Map<string, string> {
  return new Map([...server, ...user]);
}

/** The family a Claude model id belongs to (`claude-sonnet-4-5-20250929` → `sonnet`), or null. */
export function claudeFamily(id: string): string | null {
  const key = id.trim().toLowerCase();
  if (!key.startsWith('claude')) return null;
  return CLAUDE_FAMILIES.find((family) => key.split(/[-_.]/).includes(family)) ?? null;
}

/**
 * The model id a request's `model` stands for: an exact entry of the map, else its family's entry,
 * else the id itself (a GPT id is served as it is). A Claude id the map does not cover is a 404
 * that says how to map it.
 */
export function mapClaudeModel(map: ClaudeModelMap, id: string, index: ModelIndex): string {
  const key = id.trim().toLowerCase();
  const exact = map.get(key);
  if (exact) return exact;
  const family = claudeFamily(key);
  const byFamily = family ? map.get(family) : undefined;
  if (byFamily) return byFamily;
  if (key.startsWith('claude') && !index.ids.has(key)) {
    throw new ApiError(
      'model_not_found',
      `The model '${id}' is not mapped to one of your GPT models. Map it (or its family: ${CLAUDE_FAMILIES.join(', ')}) on your dashboard, or name a GPT model (see GET /v1/models).`,
      { param: 'model' },
    );
  }
  return key;
}

/** Efforts from least to most reasoning, to clamp a wanted effort to what a model offers. */
const EFFORT_ORDER = ['minimal', 'low', 'medium', 'high', 'xhigh', 'max'];

/** `wanted`, or the nearest lower effort the model supports (its lowest when none is lower). */
export function clampEffort(wanted: string, efforts: readonly string[]): string | null {
  const ranked = EFFORT_ORDER.filter((effort) => efforts.includes(effort));
  if (ranked.length === 0) return null;
  const at = EFFORT_ORDER.indexOf(wanted);
  if (at === -1) return null;
  return ranked.filter((effort) => EFFORT_ORDER.indexOf(effort) <= at).at(-1) ?? ranked[0]!;
}

/**
 * The effort a thinking budget asks for (below 4 000 tokens low, below 16 000 medium, below
 * 32 000 high, else xhigh), clamped to what the model supports.
 */
export function effortForBudget(budgetTokens: number, efforts: readonly string[]): string | null {
  return clampEffort(budgetTokens < 4_000 ? 'low' : budgetTokens < 16_000 ? 'medium' : budgetTokens < 32_000 ? 'high' : 'xhigh', efforts);
}

/** `GET /v1/models` as Anthropic answers it (asked with `anthropic-version`). */
export interface AnthropicModelList {
  data: { type: 'model'; id: string; display_name: string; created_at: string }[];
  has_more: false;
  first_id: string | null;
  last_id: string | null;
}

const MODELS_CREATED_AT = '2026-01-01T00:00:00Z';

/**
 * The mapped Claude names first (what Claude Code's picker shows, each naming the model behind
 * it), then the account's listed models and their effort aliases.
 */
export function anthropicModelList(map: ClaudeModelMap, index: ModelIndex): AnthropicModelList {
  const data: AnthropicModelList['data'] = [];
  for (const [name, target] of map) {
    if (!index.ids.has(target)) continue;
    const id = name.startsWith('claude') ? name : `claude-${name}`;
    data.push({ type: 'model', id, display_name: `${id} → ${target}`, created_at: MODELS_CREATED_AT });
  }
  for (const [id, resolved] of index.ids) {
    if (resolved.model.listed) data.push({ type: 'model', id, display_name: id, created_at: MODELS_CREATED_AT });
  }
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
