/**
 * Turns a client's `POST /v1/chat/completions` body into the Responses body the Codex backend
 * accepts (spec part 4, CODEX-PROTOCOL §3), plus what the answer needs to know (stream, usage,
 * stop sequences, how to show reasoning). Pure: no I/O. The README's "Chat Completions" table
 * lists every parameter and what happens to it; keep the two in step.
 */
import { z } from 'zod';
import {
  chooseEffort, DEFAULT_INSTRUCTIONS, ENCRYPTED_REASONING_INCLUDE, isObject, resolveServedModel, schemaError,
} from './backend-rules.ts';
import { translateMessages } from './chat-messages.ts';
import { ApiError } from '../shared/errors.ts';
import { unsupported } from './request-errors.ts';
import type { ModelIndex } from './model-catalog.ts';
import type { UpstreamResponsesBody } from './responses-request.ts';
import { webSearchToolFromChatOptions } from './web-search.ts';

/** How reasoning reaches a Chat client: the `reasoning_content` field, inline `<think>` tags in `content`, or not at all. */
export const REASONING_DISPLAYS = ['reasoning_content', 'think_tags', 'hidden'] as const;
export type ReasoningDisplay = (typeof REASONING_DISPLAYS)[number];

/**
 * The server's default reasoning display: the `CHAT_REASONING_DISPLAY` Worker var
 * (`reasoning_content`, `think_tags` or `hidden`); anything else means `reasoning_content`.
 */
export function reasoningDisplaySetting(env: { CHAT_REASONING_DISPLAY?: string }): ReasoningDisplay {
  const wanted = (env.CHAT_REASONING_DISPLAY ?? '').trim().toLowerCase();
  return REASONING_DISPLAYS.find((display) => display === wanted) ?? 'reasoning_content';
}

/**
 * Accepted and ignored: the backend refuses them (output limits, sampling, `user`), or they
 * only matter to OpenAI's own storage and routing. Documented in the README.
 */
export const DROPPED_CHAT_PARAMETERS = [
  'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'frequency_penalty', 'presence_penalty',
  'seed', 'user', 'safety_identifier', 'metadata', 'store', 'service_tier', 'prediction', 'prompt_cache_retention',
] as const;

export interface NormalizedChatRequest {
  body: UpstreamResponsesBody;
  /** The model id as the client named it (echoed in every chunk). */
  model: string;
  stream: boolean;
  /** `stream_options.include_usage`: a final usage chunk. */
  includeUsage: boolean;
  /** Stop sequences, applied here: the backend has no `stop`. */
  stop: string[];
  reasoningDisplay: ReasoningDisplay;
  /** The request used the deprecated `functions`: answer with `function_call` instead of `tool_calls`. */
  legacyFunctions: boolean;
  /** The client's `prompt_cache_key`, if it sent one. */
  promptCacheKey: string | null;
  /** Parameters accepted but not forwarded (for logs). */
  ignored: string[];
}

export interface ChatRequestOptions {
  /** The caller's model catalog: which ids and efforts their ChatGPT account may use. */
  models: ModelIndex;
  /** The server's default (Worker var); a request's `include_reasoning` / `reasoning.exclude` overrides it. */
  reasoningDisplay?: ReasoningDisplay;
}

const num = z.number().nullish();
const functionSpec = z.looseObject({
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.looseObject({}).nullish(),
  strict: z.boolean().nullish(),
});
const namedFunction = z.looseObject({ name: z.string() });

// Shape checks only; policy follows in code. Dropped parameters are type-checked too, so a
// malformed request fails here as it would at OpenAI.
const chatSchema = z.looseObject({
  model: z.string(),
  messages: z.unknown(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.number().int().nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  functions: z.array(functionSpec).nullish(),
  function_call: z.union([z.enum(['none', 'auto']), namedFunction]).nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
  reasoning_effort: z.string().nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.enum(['auto', 'concise', 'detailed']).nullish(), exclude: z.boolean().nullish() }).nullish(),
  include_reasoning: z.boolean().nullish(),
  verbosity: z.enum(['low', 'medium', 'high']).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  modalities: z.array(z.string()).nullish(),
  prompt_cache_key: z.string().nullish(),
  max_tokens: num, max_completion_tokens: num, temperature: num, top_p: num,
  frequency_penalty: num, presence_penalty: num, seed: num,
  user: z.string().nullish(), safety_identifier: z.string().nullish(), store: z.boolean().nullish(),
});
type ChatBody = z.infer<typeof chatSchema>;

const DROPPED: ReadonlySet<string> = new Set(DROPPED_CHAT_PARAMETERS);
/** Every parameter handled here; others (vendor extensions clients send) are dropped and logged. */
const KNOWN_PARAMETERS: ReadonlySet<string> = new Set([...Object.keys(chatSchema.shape), 'audio', 'web_search_options', ...DROPPED]);

/** Parameters whose silent loss would mislead the client: 400 instead. */
function refuseUnsupported(req: ChatBody, raw: Record<string, unknown>): void {
  if (req.n !== undefined && req.n !== null && req.n !== 1) {
    throw unsupported('n', "Only one choice per request is supported: 'n' must be 1. Send several requests instead.");
  }
  if (req.logprobs === true) throw unsupported('logprobs', "'logprobs' is not supported: the Codex backend does not return token probabilities.");
  if (req.top_logprobs) throw unsupported('top_logprobs', "'top_logprobs' is not supported: the Codex backend does not return token probabilities.");
  if (req.logit_bias && Object.keys(req.logit_bias).length > 0) {
    throw unsupported('logit_bias', "'logit_bias' is not supported by the Codex backend.");
  }
  if (req.modalities?.some((m) => m !== 'text')) {
    throw unsupported('modalities', "Only text output is supported: 'modalities' must be [\"text\"].");
  }
  if (raw.audio !== undefined && raw.audio !== null) throw unsupported('audio', 'Audio output is not supported.');
  if (req.functions?.length && req.tools?.length) {
    throw new ApiError('invalid_request', "Send either 'tools' or the deprecated 'functions', not both.", { param: 'functions' });
  }
}

type FunctionSpec = z.infer<typeof functionSpec>;

function toolFromFunction(fn: FunctionSpec): Record<string, unknown> {
  const tool: Record<string, unknown> = {
    type: 'function',
    name: fn.name,
    parameters: fn.parameters ?? { type: 'object', properties: {} },
    // Chat's default is non-strict; the Responses API would default to strict.
    strict: fn.strict ?? false,
  };
  if (fn.description) tool.description = fn.description;
  return tool;
}

function translateTools(tools: NonNullable<ChatBody['tools']>): Record<string, unknown>[] {
  return tools.map((tool, i) => {
    if (tool.type.startsWith('web_search')) {
      throw unsupported(`tools[${i}].type`, `Chat Completions asks for web search with 'web_search_options', not with a '${tool.type}' tool.`);
    }
    if (tool.type !== 'function') {
      throw unsupported(`tools[${i}].type`, `Unsupported tool type '${tool.type}' in 'tools[${i}].type': only 'function' tools are supported.`);
    }
    const parsed = functionSpec.safeParse(tool.function);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw schemaError({ tools }, issue && { ...issue, path: ['tools', i, 'function', ...issue.path] });
    }
    return toolFromFunction(parsed.data);
  });
}

function requireKnownTool(name: string, names: Set<string>, param: string): void {
  if (!names.has(name)) {
    throw new ApiError('invalid_request', `'${param}' names the function '${name}', which is not in 'tools'.`, { param });
  }
}

function functionName(value: unknown, param: string): string {
  const fn = isObject(value) ? value.function : undefined;
  if (!isObject(fn) || typeof fn.name !== 'string') {
    throw new ApiError('invalid_request', `Missing required parameter: '${param}.function.name'.`, { param: `${param}.function.name` });
  }
  return fn.name;
}

function translateToolChoice(choice: NonNullable<ChatBody['tool_choice']>, names: Set<string>): unknown {
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function') {
    const name = functionName(choice, 'tool_choice');
    requireKnownTool(name, names, 'tool_choice');
    return { type: 'function', name };
  }
  if (choice.type === 'allowed_tools' && isObject(choice.allowed_tools)) {
    const { mode, tools } = choice.allowed_tools;
    if ((mode !== 'auto' && mode !== 'required') || !Array.isArray(tools)) {
      throw new ApiError('invalid_request', "Invalid value for 'tool_choice.allowed_tools': expected a mode (auto or required) and a tools list.", {
        param: 'tool_choice.allowed_tools',
      });
    }
    const allowed = tools.map((tool, i) => {
      const name = functionName(tool, `tool_choice.allowed_tools.tools[${i}]`);
      requireKnownTool(name, names, `tool_choice.allowed_tools.tools[${i}]`);
      return { type: 'function', name };
    });
    return { type: 'allowed_tools', mode, tools: allowed };
  }
  throw unsupported('tool_choice', `Unsupported 'tool_choice' type '${choice.type}': use none, auto, required, a function or allowed_tools.`);
}

/** The deprecated `function_call` parameter, in `tool_choice` terms. */
function legacyToolChoice(choice: ChatBody['function_call']): ChatBody['tool_choice'] {
  if (choice === undefined || choice === null || typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.name } };
}

function translateResponseFormat(format: NonNullable<ChatBody['response_format']>): Record<string, unknown> | null {
  switch (format.type) {
    case 'text':
      return null;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const spec = format.json_schema;
      if (!isObject(spec) || !isObject(spec.schema)) {
        throw new ApiError('invalid_request', "Missing required parameter: 'response_format.json_schema.schema'.", {
          param: 'response_format.json_schema.schema',
        });
      }
      const out: Record<string, unknown> = { type: 'json_schema', name: typeof spec.name === 'string' && spec.name ? spec.name : 'response', schema: spec.schema };
      if (typeof spec.description === 'string') out.description = spec.description;
      if (typeof spec.strict === 'boolean') out.strict = spec.strict;
      return out;
    }
    default:
      throw new ApiError('invalid_request', "Invalid value for 'response_format.type': expected text, json_object or json_schema.", {
        param: 'response_format.type',
      });
  }
}

function reasoningDisplayOf(req: ChatBody, fallback: ReasoningDisplay): ReasoningDisplay {
  const exclude = req.reasoning?.exclude ?? (typeof req.include_reasoning === 'boolean' ? !req.include_reasoning : null);
  if (exclude === true) return 'hidden';
  if (exclude === false && fallback === 'hidden') return 'reasoning_content';
  return fallback;
}

/** Validates and translates a `/v1/chat/completions` body; throws ApiError (400/404) naming the param. */
export function normalizeChatRequest(raw: unknown, options: ChatRequestOptions): NormalizedChatRequest {
  if (!isObject(raw)) throw new ApiError('invalid_request', 'The request body must be a JSON object.');
  const parsed = chatSchema.safeParse(raw);
  if (!parsed.success) throw schemaError(raw, parsed.error.issues[0]);
  const req = parsed.data;

  const resolved = resolveServedModel(options.models, req.model);
  if (req.messages === undefined || req.messages === null) {
    throw new ApiError('invalid_request', "Missing required parameter: 'messages'.", { param: 'messages' });
  }
  refuseUnsupported(req, raw);
  const { instructions, input } = translateMessages(req.messages);

  const effortParam = req.reasoning_effort != null || req.reasoning?.effort == null ? 'reasoning_effort' : 'reasoning.effort';
  const effort = chooseEffort(resolved.model, resolved.effort, req.reasoning_effort ?? req.reasoning?.effort, effortParam);
  const reasoningDisplay = reasoningDisplayOf(req, options.reasoningDisplay ?? 'reasoning_content');
  const ignored = Object.keys(raw).filter((name) => raw[name] != null && (DROPPED.has(name) || !KNOWN_PARAMETERS.has(name)));

  const body: UpstreamResponsesBody = {
    model: resolved.model.slug,
    instructions: instructions ?? DEFAULT_INSTRUCTIONS,
    input,
    // No summary is asked for when nobody will see it.
    reasoning: {
      ...(effort ? { effort } : {}),
      ...(reasoningDisplay === 'hidden' ? {} : { summary: req.reasoning?.summary ?? 'auto' }),
    },
    include: [ENCRYPTED_REASONING_INCLUDE],
    store: false,
    stream: true,
  };

  const legacyFunctions = (req.functions?.length ?? 0) > 0;
  const tools = legacyFunctions ? req.functions!.map(toolFromFunction) : req.tools?.length ? translateTools(req.tools) : [];
  const toolChoice = legacyFunctions ? legacyToolChoice(req.function_call) : req.tool_choice;
  const webSearch = webSearchToolFromChatOptions(raw.web_search_options);
  if (webSearch) body.tools = [webSearch];
  if (tools.length > 0) {
    body.tools = [...tools, ...(webSearch ? [webSearch] : [])];
    if (toolChoice != null) body.tool_choice = translateToolChoice(toolChoice, new Set(tools.map((tool) => String(tool.name))));
    // Legacy function calling has room for one call per turn.
    if (legacyFunctions) body.parallel_tool_calls = false;
    else if (req.parallel_tool_calls != null) body.parallel_tool_calls = req.parallel_tool_calls;
  } else {
    for (const name of ['tool_choice', 'function_call', 'parallel_tool_calls'] as const) if (req[name] != null) ignored.push(name);
  }

  const format = req.response_format ? translateResponseFormat(req.response_format) : null;
  if (format || req.verbosity) body.text = { ...(format ? { format } : {}), ...(req.verbosity ? { verbosity: req.verbosity } : {}) };
  if (req.prompt_cache_key) body.prompt_cache_key = req.prompt_cache_key;

  const stop = (typeof req.stop === 'string' ? [req.stop] : (req.stop ?? [])).filter((s) => s !== '');
  return {
    body,
    model: req.model,
    stream: req.stream === true,
    includeUsage: req.stream === true && req.stream_options?.include_usage === true,
    stop,
    reasoningDisplay,
    legacyFunctions,
    promptCacheKey: req.prompt_cache_key ?? null,
    ignored,
  };
}
