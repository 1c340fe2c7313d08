/**
 * The OpenAI-compatible surface: a Hono sub-app mounted at `/v1` (and unprefixed, for clients
 * such as Cursor that call `/models`). Proxy-key checks, CORS and error rendering are mounted
 * around it in index.ts; handlers here throw ApiError and let the one onError answer.
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { Context } from 'hono';
import type { AuthVariables } from './key-check.ts';
import { normalizeChatRequest, reasoningDisplaySetting } from '../translate/chat-request.ts';
import { chatError, chatSseStream, collectChatCompletion } from '../translate/chat-response.ts';
import { openModelStream } from '../upstream/codex-client.ts';
import { ApiError } from '../shared/errors.ts';
import { resolveServedModel } from '../translate/backend-rules.ts';
import { listModels, modelObject } from '../translate/model-catalog.ts';
import { callerModels, type CallerModels } from './caller-models.ts';
import { conversationCacheKey } from './prompt-cache.ts';
import { normalizeResponsesRequest, type UpstreamResponsesBody } from '../translate/responses-request.ts';
import { collectResponse, responsesSseStream } from '../translate/responses-stream.ts';
import { SSE_HEADERS, type EventFeed } from '../translate/sse.ts';
import { chatInputWithReasoning, rememberResponse, rememberToolReasoning, resolveResponsesInput } from './continuity.ts';
import { observeFinalResponse } from './final-response.ts';
import { meteredModelCall } from './usage-recording.ts';

/** Largest request body accepted (images arrive inline as data URLs). */
export const MAX_REQUEST_BODY_BYTES = 20 * 1024 * 1024;

export type AppEnv = { Bindings: Env; Variables: AuthVariables };

/** CORS for browser clients; preflights are answered here, before any key check. */
export const openAiCors = cors({
  origin: '*',
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  // allowHeaders is left empty on purpose: the middleware then echoes what the preflight asks
  // for, which the OpenAI SDKs need (they send many x-stainless-* headers).
  exposeHeaders: ['Retry-After', 'Content-Type', 'x-should-retry'],
  maxAge: 86_400,
});

function tooLarge(): ApiError {
  return new ApiError('request_too_large', `The request body is larger than ${MAX_REQUEST_BODY_BYTES / (1024 * 1024)} MiB.`);
}

/**
 * Reads a JSON body without trusting Content-Length alone: a declared size over the limit is
 * refused before reading, and the bytes actually read are counted too (chunked uploads).
 */
export async function readJsonBody(request: Request, limit = MAX_REQUEST_BODY_BYTES): Promise<unknown> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ApiError(
      'invalid_json',
      'We could not parse the JSON body of your request. Send a JSON object with Content-Type: application/json.',
    );
  }
}

export function logStreamError(err: ApiError): void {
  console.error(JSON.stringify({ event: 'stream_failed', code: err.code, status: err.status, detail: err.detail ?? null }));
}

export function logIgnored(params: string[]): void {
  if (params.length > 0) console.log(JSON.stringify({ event: 'params_ignored', params }));
}

/**
 * Sends a translated request upstream for the caller. A client without a `prompt_cache_key` gets
 * one derived from the conversation, so its turns share the backend's prompt cache.
 */
export async function openUpstream(
  c: Context<AppEnv>,
  access: CallerModels,
  body: UpstreamResponsesBody,
  clientCacheKey: string | null,
  /** The model id as the client named it (recorded, and checked against the key's allowlist); default: the served slug. */
  requestedModel: string = body.model,
): Promise<EventFeed> {
  const { userId, linkVersion } = c.get('caller');
  const promptCacheKey = clientCacheKey ?? (await conversationCacheKey(userId, body));
  const call = { model: requestedModel, servedModel: body.model, effort: (body.reasoning as { effort?: unknown } | undefined)?.effort };
  return meteredModelCall(c, call, () => openModelStream(c.env, {
    userId,
    linkVersion,
    body: { ...body, prompt_cache_key: promptCacheKey },
    promptCacheKey,
    signal: c.req.raw.signal,
    waitUntil: waitUntilOf(c),
    grant: access.grant,
    modelsEtag: access.modelsEtag,
  }));
}

export const waitUntilOf = (c: Context<AppEnv>) => (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);

/** The caller's token and catalog (one AuthBroker call); `fresh` waits for a stale catalog to be revalidated. */
export function modelsFor(c: Context<AppEnv>, fresh = false): Promise<CallerModels> {
  const { userId, linkVersion } = c.get('caller');
  // The key check's AuthBroker call brought them; a second call only to wait for a stale catalog.
  return callerModels(c.env, userId, waitUntilOf(c), { fresh, linkVersion, admitted: c.get('admission') });
}

export function methodNotAllowed(method: string): never {
  throw new ApiError('method_not_allowed', `${method} is not allowed on this path; use POST.`);
}

/** Answers a Chat Completions body (already read) for the caller: streamed or one JSON. */
export async function answerChat(c: Context<AppEnv>, raw: unknown): Promise<Response> {
  const access = await modelsFor(c);
  const request = normalizeChatRequest(raw, { models: access.models, reasoningDisplay: reasoningDisplaySetting(c.env) });
  logIgnored(request.ignored);
  const userId = c.get('caller').userId;
  const input = await chatInputWithReasoning(c.env, userId, request.body.input as Record<string, unknown>[]);
  const upstream = await openUpstream(c, access, { ...request.body, input }, request.promptCacheKey, request.model).catch((err: unknown) => {
    throw chatError(err);
  });
  observeFinalResponse(upstream, [rememberToolReasoning(c.env, userId, waitUntilOf(c))]);
  const answer = {
    id: `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`,
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    includeUsage: request.includeUsage,
    reasoningDisplay: request.reasoningDisplay,
    stop: request.stop,
    legacyFunctions: request.legacyFunctions,
  };
  if (request.stream) {
    return new Response(chatSseStream(upstream, { ...answer, onError: logStreamError }), { headers: SSE_HEADERS });
  }
  return c.json(await collectChatCompletion(upstream, answer));
}

export const openAiCompatibleApp = new Hono<AppEnv>()
  .get('/models', async (c) => c.json(listModels((await modelsFor(c, true)).models)))
  .get('/models/:id', async (c) => {
    const { models } = await modelsFor(c, true);
    const id = c.req.param('id');
    // Throws the worded 404 for an id the account cannot use.
    resolveServedModel(models, id);
    return c.json(modelObject(id.trim().toLowerCase()));
  })
  .post('/chat/completions', async (c) => answerChat(c, await readJsonBody(c.req.raw)))
  .all('/chat/completions', (c) => methodNotAllowed(c.req.method))
  .post('/responses', async (c) => {
    const raw = await readJsonBody(c.req.raw);
    const access = await modelsFor(c);
    const request = normalizeResponsesRequest(raw, { models: access.models });
    logIgnored(request.ignored);
    const userId = c.get('caller').userId;
    const { history, input } = await resolveResponsesInput(c.env, userId, request);
    const requested = (raw as { model: string }).model;
    const upstream = await openUpstream(c, access, { ...request.body, input: [...history, ...input] }, request.promptCacheKey, requested);
    const remember = rememberResponse(c.env, userId, waitUntilOf(c), {
      store: request.store,
      previousResponseId: request.storeQuery.previousResponseId,
      input,
    });
    observeFinalResponse(upstream, [remember]);
    if (request.stream) {
      return new Response(responsesSseStream(upstream, { onError: logStreamError }), { headers: SSE_HEADERS });
    }
    return c.json(await collectResponse(upstream));
  })
  .all('/responses', (c) => methodNotAllowed(c.req.method));
