/**
 * Turns a client's `POST /v1/responses` body into the body the Codex backend accepts
 * (CODEX-PROTOCOL §3): model aliases resolved, `store:false`, `stream:true`, non-empty
 * `instructions`, encrypted reasoning included, refused parameters dropped. Pure: no I/O.
 * Everything not mentioned here passes through untouched (tools, tool_choice, text, …).
 */
import { z } from 'zod';
import {
  chooseEffort, DEFAULT_INSTRUCTIONS, ENCRYPTED_REASONING_INCLUDE, isObject, resolveServedModel, schemaError,
} from './backend-rules.ts';
import { ApiError } from '../shared/errors.ts';
import { normalizeResponsesToolChoice, normalizeResponsesTools } from './web-search.ts';
import { referencedId, referencedIds, withoutItemIds, type StoreQuery } from './stored-context.ts';
import type { ModelIndex } from './model-catalog.ts';

/**
 * Parameters the Codex backend refuses ("Unsupported parameter"), so they are dropped and the
 * request proceeds without them. Documented in the README.
 */
export const REJECTED_PARAMETERS = [
  'max_output_tokens',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'user',
  'metadata',
  'context_management',
  'stream_options',
  'truncation',
  'prompt_cache_retention',
] as const;

/**
 * Parameters that need server-side state we do not keep: 400. (`previous_response_id` is served
 * from the user's response store; see stored-context.ts.)
 */
export const STATEFUL_PARAMETERS = ['conversation'] as const;

export type UpstreamResponsesBody = Record<string, unknown> & {
  model: string;
  instructions: string;
  input: unknown[];
  store: false;
  stream: true;
  include: string[];
};

export interface NormalizedResponsesRequest {
  body: UpstreamResponsesBody;
  /** Whether the client asked for SSE (upstream is always streamed). */
  stream: boolean;
  /** The client's `prompt_cache_key`, stable per conversation when the client sends one. */
  promptCacheKey: string | null;
  /** Client parameters that were dropped or overridden (for logs). */
  ignored: string[];
  /** Whether this response is kept for later `previous_response_id` / `item_reference` (OpenAI's default: yes). */
  store: boolean;
  /** What the request needs from the response store (nothing for most requests). */
  storeQuery: StoreQuery;
}

// Shape checks only; policy (aliases, efforts, stateful parameters) follows in code.
const requestSchema = z.looseObject({
  model: z.string(),
  input: z.unknown(),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  background: z.boolean().nullish(),
  include: z.array(z.string()).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.union([z.string(), z.looseObject({})]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  prompt_cache_key: z.string().nullish(),
  text: z.looseObject({}).nullish(),
  previous_response_id: z.string().min(1).nullish(),
});

function normalizeInput(input: unknown): Record<string, unknown>[] {
  if (input === undefined || input === null) {
    throw new ApiError('invalid_request', "Missing required parameter: 'input'.", { param: 'input' });
  }
  if (typeof input === 'string') {
    if (input.trim() === '') throw new ApiError('invalid_request', "'input' must not be empty.", { param: 'input' });
    return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  }
  if (!Array.isArray(input)) {
    throw new ApiError('invalid_request', "Invalid value for 'input': expected a string or an array of items.", {
      param: 'input',
    });
  }
  if (input.length === 0) throw new ApiError('invalid_request', "'input' must not be empty.", { param: 'input' });
  return input.map((item: unknown, i) => {
    if (!isObject(item)) {
      throw new ApiError('invalid_request', `Invalid value for 'input[${i}]': expected an object.`, {
        param: `input[${i}]`,
      });
    }
    // References stay as they are until the store's items replace them (stored-context.ts).
    if (referencedId(item) !== null) return item;
    // The backend refuses system-role input ("System messages are not allowed"); the Codex CLI
    // sends the same text as a developer message, which the model treats the same way.
    const [plain] = withoutItemIds([item]);
    return plain!.role === 'system' ? { ...plain, role: 'developer' } : plain!;
  });
}

export interface ResponsesRequestOptions {
  /** The caller's model catalog: which ids and efforts their ChatGPT account may use. */
  models: ModelIndex;
}

/** Validates and normalizes a `/v1/responses` body; throws ApiError (400/404) naming the param. */
export function normalizeResponsesRequest(raw: unknown, options: ResponsesRequestOptions): NormalizedResponsesRequest {
  if (!isObject(raw)) {
    throw new ApiError('invalid_request', 'The request body must be a JSON object.');
  }
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) throw schemaError(raw, parsed.error.issues[0]);
  const req = parsed.data;

  const resolved = resolveServedModel(options.models, req.model);
  const input = normalizeInput(req.input);

  for (const name of STATEFUL_PARAMETERS) {
    if (raw[name] !== undefined && raw[name] !== null) {
      throw new ApiError(
        'unsupported_parameter',
        `'${name}' is not supported: this service cannot store responses. Send the whole conversation as 'input'.`,
        { param: name },
      );
    }
  }
  if (req.background === true) {
    throw new ApiError('unsupported_parameter', "'background' mode is not supported; use 'stream' instead.", {
      param: 'background',
    });
  }

  const effort = chooseEffort(resolved.model, resolved.effort, req.reasoning?.effort, 'reasoning.effort');
  const ignored: string[] = [];
  // OpenAI treats an explicit null as "not given"; the backend may not, so nulls are not forwarded.
  const rest: Record<string, unknown> = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
  for (const name of [...REJECTED_PARAMETERS, ...STATEFUL_PARAMETERS, 'background'] as const) {
    if (name in rest) {
      if (rest[name] !== undefined && rest[name] !== null && name !== 'background') ignored.push(name);
      delete rest[name];
    }
  }
  // Served here from the store (the backend refuses it), so not sent on, and not "ignored" either.
  delete rest.previous_response_id;

  const include = [...(req.include ?? [])];
  if (!include.includes(ENCRYPTED_REASONING_INCLUDE)) include.push(ENCRYPTED_REASONING_INCLUDE);
  const instructions = req.instructions?.trim() ? req.instructions : DEFAULT_INSTRUCTIONS;

  if (req.tools) rest.tools = normalizeResponsesTools(req.tools);
  if (rest.tool_choice !== undefined) rest.tool_choice = normalizeResponsesToolChoice(rest.tool_choice);

  const body: UpstreamResponsesBody = {
    ...rest,
    model: resolved.model.slug,
    instructions,
    input,
    reasoning: { ...(req.reasoning ?? {}), ...(effort ? { effort } : {}) },
    include,
    store: false,
    stream: true,
  };
  const promptCacheKey = req.prompt_cache_key ?? null;
  if (promptCacheKey === null) delete body.prompt_cache_key;
  const storeQuery: StoreQuery = { previousResponseId: req.previous_response_id ?? null, itemIds: referencedIds(input), callIds: [] };
  return { body, stream: req.stream === true, promptCacheKey, ignored, store: req.store !== false, storeQuery };
}
