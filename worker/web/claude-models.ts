/** The dashboard's Claude model form: what it shows and how a submitted form is checked. */
import { listClaudeModels } from '../db/claude-models.ts';
import { CLAUDE_FAMILIES, isModelName, parseServerClaudeModelMap } from '../shared/claude-models.ts';

export type ClaudeFamily = (typeof CLAUDE_FAMILIES)[number];

export interface ClaudeModelsView {
  /** The user's own entry per family ('' when the server default applies). */
  own: Record<ClaudeFamily, string>;
  /** The server's default per family ('' when it has none). */
  defaults: Record<ClaudeFamily, string>;
}

function perFamily(map: ReadonlyMap<string, string>): Record<ClaudeFamily, string> {
  return Object.fromEntries(CLAUDE_FAMILIES.map((family) => [family, map.get(family) ?? ''])) as Record<ClaudeFamily, string>;
}

export async function loadClaudeModels(env: Env, userId: string): Promise<ClaudeModelsView> {
  return { own: perFamily(await listClaudeModels(env.DB, userId)), defaults: perFamily(parseServerClaudeModelMap(env)) };
}

export type ClaudeModelsForm =
  | { ok: true; entries: Map<string, string> }
  | { ok: false; values: Record<ClaudeFamily, string>; errors: Partial<Record<ClaudeFamily, string>> };

/** The entries a submitted form sets (an empty field means: use the server default). */
export function checkClaudeModelsForm(form: Record<string, unknown>): ClaudeModelsForm {
  const values = {} as Record<ClaudeFamily, string>;
  const errors: Partial<Record<ClaudeFamily, string>> = {};
  const entries = new Map<string, string>();
  for (const family of CLAUDE_FAMILIES) {
    const raw = form[family];
    const value = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
    values[family] = value.slice(0, 100);
    if (value === '') continue;
    if (!isModelName(value)) errors[family] = 'Use a model id such as gpt-5.5 or gpt-5.5-high (letters, digits, dots and dashes).';
    else entries.set(family, value);
  }
  return Object.keys(errors).length > 0 ? { ok: false, values, errors } : { ok: true, entries };
}
