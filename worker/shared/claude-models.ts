/**
 * The Claude model map's format, shared by the Messages surface (which applies it) and the
 * dashboard (where users edit their own entries): `name=model` pairs, where a name is a Claude
 * family (`opus`, `sonnet`, `haiku`) or a full Claude model id, and a model is a model id of the
 * user's catalog (a slug, or `<slug>-<effort>`, which pins the effort).
 */

/** The families the dashboard offers, largest first. */
export const CLAUDE_FAMILIES = ['opus', 'sonnet', 'haiku'] as const;

/** Used when the `CLAUDE_MODEL_MAP` Worker var is empty. */
export const DEFAULT_CLAUDE_MODEL_MAP = 'opus=gpt-5.5-high,sonnet=gpt-5.5,haiku=gpt-5.4-mini-low';

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Whether `text` (already lower-cased) has the shape of a model id or Claude name. */
export function isModelName(text: string): boolean {
  return NAME.test(text) && text.length <= 100;
}

/**
 * Parses `name=model` pairs separated by commas or new lines (lower-cased). Throws a plain Error
 * naming the bad entry.
 */
export function parseClaudeModelMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq).trim().toLowerCase();
    const model = entry.slice(eq + 1).trim().toLowerCase();
    if (eq <= 0 || !isModelName(name) || !isModelName(model)) throw new Error(`not a name=model pair: ${JSON.stringify(entry)}`);
    map.set(name, model);
  }
  return map;
}

/** The server's map: the `CLAUDE_MODEL_MAP` var, else the default. */
export function parseServerClaudeModelMap(env: { CLAUDE_MODEL_MAP?: string }): Map<string, string> {
  const text = (env.CLAUDE_MODEL_MAP ?? '').trim();
  return parseClaudeModelMap(text === '' ? DEFAULT_CLAUDE_MODEL_MAP : text);
}
