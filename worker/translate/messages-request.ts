/**
 * Turns an Anthropic `POST /v1/messages` body into the Responses body the Codex backend accepts,
 * plus what the answer needs to know (stream, stop sequences, whether to show thinking). Pure: no
 * I/O. The README's "Use it from Claude Code" section lists every parameter and what happens to
 * it; keep the two in step.
 */
import { z } from 'zod';
import { DEFAULT_INSTRUCTIONS, ENCRYPTED_REASONING_INCLUDE, isObject, resolveServedModel, schemaError } from './backend-rules.ts';
import { translateConversation } from './messages-content.ts';
import { clampEffort, effortForBudget, mapClaudeModel, type ClaudeModelMap } from './messages-models.ts';
import { ApiError } from '../shared/errors.ts';
import type { ModelIndex } from './model-catalog.ts';
import type { UpstreamResponsesBody } from './responses-request.ts';
import { WEB_SEARCH_TOOL_TYPE } from './web-search.ts';

/**
 * Accepted and not forwarded: the backend refuses output limits and sampling, and `metadata`
 * (its `user_id`) and `service_tier` only matter to Anthropic's own accounting.
 */
export const DROPPED_MESSAGES_PARAMETERS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'metadata', 'service_tier', 'context_management'] as const;

export interface NormalizedMessagesRequest {
  body: UpstreamResponsesBody;
  /** The model id as the client named it (echoed in the answer). */
  model: string;
  stream: boolean;
  /** `stop_sequences`, applied here: the backend has none. */
  stop: string[];
  /** `thinking` was enabled: reasoning summaries come back as thinking blocks. */
  thinking: boolean;
  /** Parameters accepted but not forwarded (for logs). */
  ignored: string[];
}

export interface MessagesRequestOptions {
  models: ModelIndex;
  claudeModels: ClaudeModelMap;
}

const toolSchema = z.looseObject({
  type: z.string().nullish(),
  name: z.string().min(1),
  description: z.string().nullish(),
  input_schema: z.looseObject({}).nullish(),
});

const messagesSchema = z.looseObject({
  model: z.string(),
  max_tokens: z.number().int().nullish(),
  messages: z.unknown().optional(),
  system: z.unknown().optional(),
  stream: z.boolean().nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: z.looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().nullish(), disable_parallel_tool_use: z.boolean().nullish() }).nullish(),
  thinking: z.looseObject({
    type: z.enum(['enabled', 'disabled', 'adaptive']), budget_tokens: z.number().int().nullish(), display: z.string().nullish(),
  }).nullish(),
  output_config: z.looseObject({ effort: z.string().nullish(), format: z.looseObject({ type: z.string() }).nullish() }).nullish(),
  output_format: z.looseObject({ type: z.string() }).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().nullish(),
  metadata: z.looseObject({}).nullish(),
  service_tier: z.string().nullish(),
});
type MessagesBody = z.infer<typeof messagesSchema>;

const DROPPED: ReadonlySet<string> = new Set(DROPPED_MESSAGES_PARAMETERS);
const KNOWN: ReadonlySet<string> = new Set([...Object.keys(messagesSchema.shape), ...DROPPED]);

/** Anthropic's hosted web search tool types (`web_search_20250305`, …), served by the backend's own. */
const WEB_SEARCH_TOOL = /^web_search_\d+$/;

function translateTools(tools: NonNullable<MessagesBody['tools']>): Record<string, unknown>[] {
  return tools.map((tool, i) => {
    if (tool.type && WEB_SEARCH_TOOL.test(tool.type)) return { type: WEB_SEARCH_TOOL_TYPE };
    if (tool.type && tool.type !== 'custom') {
      throw new ApiError('unsupported_parameter', `Unsupported tool type '${tool.type}' in 'tools[${i}].type': only custom tools (name, description, input_schema) and web search are supported.`, {
        param: `tools[${i}].type`,
      });
    }
    const out: Record<string, unknown> = {
      type: 'function',
      name: tool.name,
      parameters: tool.input_schema ?? { type: 'object', properties: {} },
      // Anthropic's tools are not strict; the Responses API would default to strict.
      strict: false,
    };
    if (tool.description) out.description = tool.description;
    return out;
  });
}

function translateToolChoice(choice: NonNullable<MessagesBody['tool_choice']>, names: ReadonlySet<string>): unknown {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool': {
      if (!choice.name) throw new ApiError('invalid_request', "Missing required parameter: 'tool_choice.name'.", { param: 'tool_choice.name' });
      if (!names.has(choice.name)) {
        throw new ApiError('invalid_request', `'tool_choice' names the tool '${choice.name}', which is not in 'tools'.`, { param: 'tool_choice.name' });
      }
      return { type: 'function', name: choice.name };
    }
  }
}

/** Structured outputs (`{type:'json_schema', schema}`) as the backend's `text.format`. */
function structuredOutput(format: Record<string, unknown>, param: string): Record<string, unknown> {
  if (format.type !== 'json_schema') {
    throw new ApiError('invalid_request', `Invalid value for '${param}.type': expected 'json_schema'.`, { param: `${param}.type` });
  }
  if (!isObject(format.schema)) {
    throw new ApiError('invalid_request', `Missing required parameter: '${param}.schema'.`, { param: `${param}.schema` });
  }
  return { type: 'json_schema', name: 'output', schema: format.schema };
}

/**
 * The effort the request asks for: its thinking budget, else `output_config.effort`, clamped to
 * the model. A map entry with an effort (`opus=gpt-5.5-high`) pins it and wins over both.
 */
function requestedEffort(req: MessagesBody, efforts: readonly string[]): string | null {
  const budget = req.thinking?.type === 'enabled' ? req.thinking.budget_tokens : null;
  if (budget != null) return effortForBudget(budget, efforts);
  const wanted = req.output_config?.effort;
  return wanted ? clampEffort(wanted, efforts) : null;
}

/** Validates and translates a `/v1/messages` body; throws ApiError (400/404) naming the param. */
export function normalizeMessagesRequest(raw: unknown, options: MessagesRequestOptions): NormalizedMessagesRequest {
  if (!isObject(raw)) throw new ApiError('invalid_request', 'The request body must be a JSON object.');
  const parsed = messagesSchema.safeParse(raw);
  if (!parsed.success) throw schemaError(raw, parsed.error.issues[0]);
  const req = parsed.data;

  const resolved = resolveServedModel(options.models, mapClaudeModel(options.claudeModels, req.model, options.models));
  if (req.messages === undefined || req.messages === null) {
    throw new ApiError('invalid_request', "Missing required parameter: 'messages'.", { param: 'messages' });
  }
  const { instructions, input } = translateConversation(req.system, req.messages);

  const thinking = req.thinking?.type === 'enabled' || req.thinking?.type === 'adaptive';
  // `display: omitted`: thinking blocks carry only their signature, so no summary is asked for.
  const summaries = thinking && req.thinking?.display !== 'omitted';
  const effort = resolved.effort ?? requestedEffort(req, resolved.model.efforts) ?? resolved.model.defaultEffort;
  const ignored = Object.keys(raw).filter((name) => raw[name] != null && (DROPPED.has(name) || !KNOWN.has(name)));

  const body: UpstreamResponsesBody = {
    model: resolved.model.slug,
    instructions: instructions ?? DEFAULT_INSTRUCTIONS,
    input,
    // No summary is asked for when nobody will see it.
    reasoning: { ...(effort ? { effort } : {}), ...(summaries ? { summary: 'auto' } : {}) },
    include: [ENCRYPTED_REASONING_INCLUDE],
    store: false,
    stream: true,
  };

  const tools = req.tools?.length ? translateTools(req.tools) : [];
  if (tools.length > 0) {
    body.tools = tools;
    if (req.tool_choice) {
      const names = new Set(tools.flatMap((tool) => (typeof tool.name === 'string' ? [tool.name] : [])));
      body.tool_choice = translateToolChoice(req.tool_choice, names);
      if (req.tool_choice.disable_parallel_tool_use === true) body.parallel_tool_calls = false;
    }
  } else if (req.tool_choice) {
    ignored.push('tool_choice');
  }

  const format = req.output_config?.format ?? req.output_format;
  if (format) body.text = { format: structuredOutput(format, req.output_config?.format ? 'output_config.format' : 'output_format') };

  return {
    body,
    model: req.model,
    stream: req.stream === true,
    stop: (req.stop_sequences ?? []).filter((s) => s !== ''),
    thinking,
    ignored,
  };
}

/** What an image or file is counted as: the backend does not say, and its bytes say nothing of its tokens. */
const TOKENS_PER_ATTACHMENT = 1_000;
/** About four characters of English text or JSON per token. */
const CHARS_PER_TOKEN = 4;

/**
 * `POST /v1/messages/count_tokens`: an estimate, since the backend has no counting endpoint —
 * the translated instructions, input and tools at four characters a token, plus a flat count
 * per image or file.
 */
export function estimateInputTokens(body: UpstreamResponsesBody): number {
  let chars = body.instructions.length + JSON.stringify(body.tools ?? []).length;
  let attachments = 0;
  const visit = (value: unknown): void => {
    if (typeof value === 'string') chars += value.length;
    else if (Array.isArray(value)) value.forEach(visit);
    else if (isObject(value)) {
      if (value.type === 'input_image' || value.type === 'input_file') {
        attachments += 1;
        return;
      }
      // Encrypted reasoning is carried, not read as text: it counts for its summary only.
      for (const [key, inner] of Object.entries(value)) if (key !== 'encrypted_content') visit(inner);
    }
  };
  visit(body.input);
  return Math.ceil(chars / CHARS_PER_TOKEN) + attachments * TOKENS_PER_ATTACHMENT;
}
