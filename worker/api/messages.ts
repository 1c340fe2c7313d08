/**
 * The Anthropic Messages surface: `POST /v1/messages` (streamed or not) and
 * `POST /v1/messages/count_tokens`, for Claude Code and the Anthropic SDKs, in front of the same
 * upstream as the OpenAI routes. Keys are the same `cpk_` keys (`x-api-key` or
 * `Authorization: Bearer`); `anthropic-version` and `anthropic-beta` are accepted and ignored.
 * Every error of these routes, and of any request that sends `anthropic-version`, leaves in
 * Anthropic's shape (translate/messages-errors.ts).
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { ApiError, toApiError } from '../shared/errors.ts';
import { anthropicErrorResponse, apiErrorOf } from '../translate/messages-errors.ts';
import { anthropicModelList, mergedClaudeModelMap, serverClaudeModelMap } from '../translate/messages-models.ts';
import { estimateInputTokens, normalizeMessagesRequest, type NormalizedMessagesRequest } from '../translate/messages-request.ts';
import { collectMessage, messagesSseStream } from '../translate/messages-response.ts';
import { SSE_HEADERS } from '../translate/sse.ts';
import { chatInputWithReasoning, rememberToolReasoning } from './continuity.ts';
import { observeFinalResponse } from './final-response.ts';
import {
  logIgnored, logStreamError, methodNotAllowed, modelsFor, openUpstream, readJsonBody, waitUntilOf, type AppEnv,
} from './openai-compatible.ts';

type Json = Record<string, unknown>;

/** Requests that get Anthropic-shaped errors: the Messages routes, and anything sent with `anthropic-version`. */
export function isAnthropicRequest(c: Context): boolean {
  return c.req.path === '/v1/messages' || c.req.path.startsWith('/v1/messages/') || c.req.header('anthropic-version') !== undefined;
}

/**
 * Re-renders the error answer of an Anthropic request, whoever produced it (the key check's
 * returned 401, a thrown ApiError answered by the one onError, a 404 of an unknown path).
 */
export const anthropicErrors: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.ok || !isAnthropicRequest(c)) return;
  const err = c.error ? toApiError(c.error) : apiErrorOf(c.res.status, c.res.headers, await c.res.clone().json().catch(() => null));
  if (err) c.res = anthropicErrorResponse(err);
};

/** The caller's catalog and Claude model map (the server's defaults under the user's own entries, which the key check brought). */
async function callerAccess(c: Context<AppEnv>, fresh = false) {
  const access = await modelsFor(c, fresh);
  return { access, claudeModels: mergedClaudeModelMap(serverClaudeModelMap(c.env), c.get('claudeModels')) };
}

async function normalized(c: Context<AppEnv>) {
  // Claude Code resends the whole conversation each turn: the token, catalog and model map are
  // fetched while that body is still arriving.
  const pending = callerAccess(c);
  pending.catch(() => {});
  const raw = await readJsonBody(c.req.raw);
  const { access, claudeModels } = await pending;
  return { access, request: normalizeMessagesRequest(raw, { models: access.models, claudeModels }) };
}

/**
 * The input with the reasoning of the current turn's tool calls put back from the store, for a
 * client that did not carry it in thinking blocks (thinking off, or blocks it dropped).
 */
async function inputWithReasoning(c: Context<AppEnv>, request: NormalizedMessagesRequest): Promise<Json[]> {
  const input = request.body.input as Json[];
  if (input.some((item) => item.type === 'reasoning')) return input;
  return chatInputWithReasoning(c.env, c.get('caller').userId, input);
}

export const messagesApp = new Hono<AppEnv>()
  .post('/messages', async (c) => {
    const { access, request } = await normalized(c);
    logIgnored(request.ignored);
    const input = await inputWithReasoning(c, request);
    const upstream = await openUpstream(c, access, { ...request.body, input }, null, request.model);
    const remember = request.thinking ? null : rememberToolReasoning(c.env, c.get('caller').userId, waitUntilOf(c));
    observeFinalResponse(upstream, [remember]);
    const answer = { id: `msg_${crypto.randomUUID().replaceAll('-', '')}`, model: request.model, stop: request.stop, thinking: request.thinking };
    if (request.stream) {
      return new Response(messagesSseStream(upstream, { ...answer, onError: logStreamError }), { headers: SSE_HEADERS });
    }
    return c.json(await collectMessage(upstream, answer));
  })
  .all('/messages', (c) => methodNotAllowed(c.req.method))
  .post('/messages/count_tokens', async (c) => {
    const { request } = await normalized(c);
    return c.json({ input_tokens: estimateInputTokens(request.body) });
  })
  .all('/messages/count_tokens', (c) => methodNotAllowed(c.req.method));

/**
 * `GET /v1/models` and `GET /v1/models/:id` in Anthropic's shape when asked with
 * `anthropic-version`; otherwise the OpenAI routes answer.
 */
export const anthropicModels: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header('anthropic-version') === undefined) return next();
  const { access, claudeModels } = await callerAccess(c, true);
  const list = anthropicModelList(claudeModels, access.models);
  const id = c.req.param('id');
  if (id === undefined) return c.json(list);
  const model = list.data.find((entry) => entry.id === id.trim().toLowerCase());
  if (!model) throw new ApiError('model_not_found', `The model '${id}' does not exist or is not available to your ChatGPT account. See GET /v1/models.`, { param: 'model' });
  return c.json(model);
};
