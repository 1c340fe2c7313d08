/**
 * Hosted web search, both ways. Requests: the Codex backend's tool is `{"type":"web_search"}` (what
 * Codex CLI sends); OpenAI's older `web_search_preview` names and Chat's `web_search_options`
 * become it. Answers: `url_citation` annotations on `output_text` become Chat's
 * `{type:"url_citation", url_citation:{url, title, start_index, end_index}}`. Pure: no I/O.
 */
import { z } from 'zod';
import { isObject, schemaError } from './backend-rules.ts';

export const WEB_SEARCH_TOOL_TYPE = 'web_search';

/** Tool types OpenAI's Responses API accepts for hosted search, all served by the backend's one tool. */
const WEB_SEARCH_ALIASES: ReadonlySet<string> = new Set([
  'web_search', 'web_search_2025_08_26', 'web_search_preview', 'web_search_preview_2025_03_11',
]);

function renamed(value: Record<string, unknown>): Record<string, unknown> {
  return WEB_SEARCH_ALIASES.has(String(value.type)) ? { ...value, type: WEB_SEARCH_TOOL_TYPE } : value;
}

/** A Responses `tools` list with every hosted-search alias named as the backend names it. */
export function normalizeResponsesTools(tools: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return tools.map(renamed);
}

/** A Responses `tool_choice` that forces hosted search, renamed the same way. */
export function normalizeResponsesToolChoice(choice: unknown): unknown {
  return isObject(choice) ? renamed(choice) : choice;
}

const webSearchOptionsSchema = z.looseObject({
  search_context_size: z.enum(['low', 'medium', 'high']).nullish(),
  user_location: z
    .looseObject({
      type: z.literal('approximate'),
      approximate: z.looseObject({
        city: z.string().nullish(), country: z.string().nullish(), region: z.string().nullish(), timezone: z.string().nullish(),
      }),
    })
    .nullish(),
});

/** Chat's `web_search_options` as the backend's tool (null when absent). Throws a 400 naming the param. */
export function webSearchToolFromChatOptions(options: unknown): Record<string, unknown> | null {
  if (options === undefined || options === null) return null;
  const parsed = webSearchOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw schemaError({ web_search_options: options }, issue && { ...issue, path: ['web_search_options', ...issue.path] });
  }
  const tool: Record<string, unknown> = { type: WEB_SEARCH_TOOL_TYPE };
  if (parsed.data.search_context_size) tool.search_context_size = parsed.data.search_context_size;
  const location = parsed.data.user_location?.approximate;
  if (location) {
    const fields = Object.fromEntries(Object.entries(location).filter(([, v]) => typeof v === 'string' && v !== ''));
    tool.user_location = { type: 'approximate', ...fields };
  }
  return tool;
}

export interface ChatUrlCitation {
  type: 'url_citation';
  url_citation: { url: string; title: string; start_index: number; end_index: number };
}

/**
 * A Responses annotation as Chat shows it, its indices moved by `offset` (where the item's text
 * starts in the message content); null for kinds Chat has no shape for (file citations…).
 */
export function chatAnnotation(annotation: unknown, offset: number): ChatUrlCitation | null {
  if (!isObject(annotation) || annotation.type !== 'url_citation' || typeof annotation.url !== 'string') return null;
  const index = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value + offset : offset);
  return {
    type: 'url_citation',
    url_citation: {
      url: annotation.url,
      title: typeof annotation.title === 'string' ? annotation.title : '',
      start_index: index(annotation.start_index),
      end_index: index(annotation.end_index),
    },
  };
}
