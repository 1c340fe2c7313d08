/**
 * The model-side endpoints: `POST /codex/responses` (auth, backend rules, scripted answers, SSE),
 * `GET /codex/models` and `GET /wham/usage`.
 */
import { relayError } from '../../../relay/errors.ts';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { catalogFor, versionAtLeast } from './catalog.ts';
import { lowerCaseHeaders, readBody, send, sleep, type Answer } from './http.ts';
import { encodeFrame, errorEventStream, failedStream, successStream, type SseFrame, type StreamContext } from './sse.ts';
import type { FakeCodexState } from './state.ts';
import { storedItemViolation } from './stateless.ts';
import type { FakeModel, RecordedRequest, ResponseStep } from './types.ts';

/**
 * Parameters the backend refuses outright (CODEX-PROTOCOL.md §3). `previous_response_id` gets the
 * same `{"detail":"Unsupported parameter: previous_response_id"}` users of other proxies report.
 */
const REJECTED_PARAMS = [
  'max_output_tokens',
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'user',
  'context_management',
  'previous_response_id',
];

const detail = (status: number, text: string): Answer => ({ status, body: { detail: text } });

/** Who is calling: the account behind a bearer token the fake issued, or the 401 to send. */
export function authenticate(state: FakeCodexState, req: IncomingMessage): { accountId: string } | { refused: Answer } {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!match) return { refused: detail(401, 'Unauthorized') };
  const record = state.accessToken(match[1]!);
  if (!record) return { refused: detail(401, 'Could not parse your authentication token. Please try signing in again.') };
  if (record.exp <= Math.floor(Date.now() / 1000)) {
    return {
      refused: {
        status: 401,
        body: {
          error: {
            message: 'Provided authentication token is expired. Please try signing in again.',
            type: null,
            code: 'token_expired',
            param: null,
          },
          status: 401,
        },
      },
    };
  }
  if (req.headers['chatgpt-account-id'] !== record.accountId) return { refused: detail(401, 'Unauthorized') };
  return { accountId: record.accountId };
}

/** The backend's request rules: a `{detail}` message when one is broken, else null. */
export function backendRuleViolation(body: unknown): string | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'Request body must be a JSON object';
  const b = body as Record<string, unknown>;
  const rejected = REJECTED_PARAMS.find((p) => p in b);
  if (rejected) return `Unsupported parameter: ${rejected}`;
  if (typeof b.model !== 'string' || b.model === '') return 'Model is required';
  if (typeof b.instructions !== 'string' || b.instructions.trim() === '') return 'Instructions are required';
  if (b.store !== false) return 'Store must be set to false';
  if (b.stream !== true) return 'Stream must be set to true';
  return null;
}

/** Text of the last user message in `input` (string content or `input_text` parts). */
export function lastUserText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i] as { type?: unknown; role?: unknown; content?: unknown } | null;
    if (!item || item.role !== 'user' || (item.type !== undefined && item.type !== 'message')) continue;
    if (typeof item.content === 'string') return item.content;
    if (Array.isArray(item.content)) {
      return item.content
        .filter((p: { type?: unknown }) => p?.type === 'input_text' || p?.type === 'text')
        .map((p: { text?: unknown }) => String(p.text ?? ''))
        .join('');
    }
  }
  return '';
}

/** What the backend repeats of the request in its response objects. */
function echoOf(body: Record<string, unknown>): Record<string, unknown> {
  const fields = ['instructions', 'tools', 'tool_choice', 'parallel_tool_calls', 'reasoning', 'text', 'prompt_cache_key'];
  return Object.fromEntries(fields.filter((f) => body[f] !== undefined).map((f) => [f, body[f]]));
}

/** Whether the request offers the hosted `web_search` tool (the backend's name; Codex CLI sends the same). */
function webSearchOf(body: Record<string, unknown>): Pick<StreamContext, 'webSearch'> {
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ type?: unknown }>) : [];
  if (!tools.some((tool) => tool?.type === 'web_search')) return {};
  const include = Array.isArray(body.include) ? body.include : [];
  return { webSearch: { sources: include.includes('web_search_call.action.sources') } };
}

function parseJson(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function statusOf(step: ResponseStep | undefined): number {
  switch (step?.kind) {
    case 'unauthorized':
      return 401;
    case 'usage_limit':
    case 'usage_not_included':
    case 'rate_limited':
      return 429;
    case 'server_error':
      return step.status ?? 500;
    case 'bad_request':
      return 400;
    case 'relay_error':
      return relayError(step.code).status;
    default:
      return 200;
  }
}

export async function handleResponses(state: FakeCodexState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = parseJson(await readBody(req));
  const claimedAccount = req.headers['chatgpt-account-id'];
  const record = (status: number, step: RecordedRequest['step']) => {
    if (typeof claimedAccount !== 'string') return;
    state.recordRequest(claimedAccount, {
      method: req.method ?? 'POST',
      url: req.url ?? '',
      headers: lowerCaseHeaders(req),
      body,
      status,
      step,
      receivedAt: new Date().toISOString(),
    });
  };

  const auth = authenticate(state, req);
  if ('refused' in auth) {
    record(auth.refused.status, 'none');
    return send(res, auth.refused);
  }
  const { accountId } = auth;
  const rateHeaders = state.rateLimitHeaders(accountId);
  const violation = backendRuleViolation(body);
  if (violation) {
    record(400, 'none');
    return send(res, { ...detail(400, violation), headers: rateHeaders });
  }
  const clientVersion = typeof req.headers.version === 'string' ? req.headers.version : null;
  const refusal = modelRefusal(state.models(accountId), String((body as { model: unknown }).model), clientVersion);
  if (refusal) {
    record(400, 'none');
    return send(res, { ...detail(400, refusal), headers: rateHeaders });
  }
  // As the real backend does, every answer names the account's current catalog, so a client can
  // tell that its cached copy is out of date.
  rateHeaders['x-models-etag'] = catalogFor(state.models(accountId), clientVersion ?? DEFAULT_CLIENT_VERSION).etag;
  const storedItem = storedItemViolation(body as Record<string, unknown>);
  if (storedItem) {
    record(storedItem.status, 'none');
    return send(res, { ...storedItem, headers: rateHeaders });
  }

  const step = state.nextResponseStep(accountId);
  record(statusOf(step), step?.kind ?? 'default');
  const b = body as Record<string, unknown>;
  const ctx: StreamContext = {
    responseId: `resp_${randomBytes(12).toString('hex')}`,
    model: String(b.model),
    createdAt: Math.floor(Date.now() / 1000),
    planType: state.planType(accountId),
    rateLimitHeaders: rateHeaders,
    lastUserText: lastUserText(b.input),
    inputChars: JSON.stringify(b.input ?? '').length,
    echo: echoOf(b),
    ...webSearchOf(b),
  };
  const s: ResponseStep = step ?? { kind: 'ok' };
  const streamTo = (frames: SseFrame[], opts: StreamOptions = {}) =>
    writeStream(res, frames, rateHeaders, opts, () => state.recordAbort(accountId));

  switch (s.kind) {
    case 'ok':
      return s.eventsPerChunk ? writePaced(res, successStream(ctx, s), rateHeaders, s.eventsPerChunk) : streamTo(successStream(ctx, s));
    case 'slow':
      return streamTo(successStream(ctx, s), { delayMs: s.delayMs });
    case 'stall':
      return streamTo(successStream(ctx, s), { stallAfter: s.afterEvents ?? 5 });
    case 'incomplete':
      return streamTo(successStream(ctx, s, { kind: 'incomplete', reason: s.reason }));
    case 'truncated': {
      const frames = successStream(ctx, s);
      const events = frames.filter((f) => 'event' in f).length;
      return streamTo(frames, { cutAfter: s.afterEvents ?? events - 1, cleanEnd: s.cleanEnd === true });
    }
    case 'failed':
      return streamTo(failedStream(ctx, s.code, s.message));
    case 'error_event':
      return streamTo(errorEventStream(ctx, s.code, s.message));
    case 'hang':
      return hang(res, rateHeaders, s.beforeHeaders === true, () => state.recordAbort(accountId));
    case 'unauthorized':
      return send(res, detail(401, 'Unauthorized'));
    case 'usage_limit': {
      const resetsAt = s.resetsAt ?? ctx.createdAt + 3600;
      return send(res, {
        status: 429,
        headers: rateHeaders,
        body: {
          error: {
            type: 'usage_limit_reached',
            message: 'The usage limit has been reached',
            plan_type: s.planType ?? ctx.planType,
            resets_at: resetsAt,
            resets_in_seconds: Math.max(0, resetsAt - ctx.createdAt),
          },
        },
      });
    }
    case 'usage_not_included':
      return send(res, {
        status: 429,
        headers: rateHeaders,
        body: { error: { type: 'usage_not_included', message: 'Your plan does not include Codex.' } },
      });
    case 'rate_limited':
      return send(res, {
        status: 429,
        headers: { ...rateHeaders, 'retry-after': String(s.retryAfterSeconds) },
        body: {
          error: {
            type: 'rate_limit_exceeded',
            code: 'rate_limit_exceeded',
            message: `Rate limit reached. Please try again in ${s.retryAfterSeconds}s.`,
          },
        },
      });
    case 'server_error':
      return send(res, {
        status: s.status ?? 500,
        body: { error: { message: 'An error occurred while processing your request.', type: 'server_error', param: null, code: null } },
      });
    case 'bad_request':
      return send(res, { ...detail(400, s.detail), headers: rateHeaders });
    case 'relay_error':
      return send(res, relayError(s.code));
  }
}

type StreamOptions = { delayMs?: number; cutAfter?: number; cleanEnd?: boolean; stallAfter?: number };

function sseHeaders(rateHeaders: Record<string, string>): Record<string, string> {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': randomBytes(8).toString('hex'),
    ...rateHeaders,
  };
}

/** Writes frames with backpressure; stops as soon as the client is gone (and reports it once). */
/** Waits for 'drain' or 'close', removing the other listener so long streams do not pile them up. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

async function writeStream(
  res: ServerResponse,
  frames: SseFrame[],
  rateHeaders: Record<string, string>,
  opts: StreamOptions,
  onAbort: () => void,
): Promise<void> {
  let cutByUs = false;
  let gone = false;
  res.once('close', () => {
    if (!res.writableFinished && !cutByUs) {
      gone = true;
      onAbort();
    }
  });
  res.writeHead(200, sseHeaders(rateHeaders));
  res.flushHeaders();
  let events = 0;
  let lastWrite: Promise<unknown> = Promise.resolve();
  for (const frame of frames) {
    if (gone) return;
    if ('event' in frame && opts.cutAfter !== undefined && events >= opts.cutAfter) {
      // Let what was written reach the socket first: destroying drops anything still queued.
      await lastWrite;
      cutByUs = true;
      // Without cleanEnd the socket dies mid-body (no final chunk): the client sees a broken transfer.
      if (opts.cleanEnd) res.end();
      else res.destroy();
      return;
    }
    if ('event' in frame && opts.stallAfter !== undefined && events >= opts.stallAfter) {
      // Silent with the connection open, as a stuck backend is: only the client can end it.
      await new Promise((resolve) => res.once('close', resolve));
      return;
    }
    if (opts.delayMs !== undefined && events > 0 && 'event' in frame) {
      await sleep(opts.delayMs);
      if (gone) return;
    }
    let flushed = true;
    lastWrite = new Promise((resolve) => {
      flushed = res.write(encodeFrame(frame), resolve);
    });
    if ('event' in frame) events++;
    if (!flushed) await drainedOrClosed(res);
  }
  res.end();
}

/**
 * Writes `perChunk` events per write and waits until each write has left (and the event loop has
 * turned) before the next, so the client reads them as separate network chunks.
 */
async function writePaced(res: ServerResponse, frames: SseFrame[], rateHeaders: Record<string, string>, perChunk: number): Promise<void> {
  res.writeHead(200, sseHeaders(rateHeaders));
  res.flushHeaders();
  for (let at = 0; at < frames.length && !res.destroyed; at += perChunk) {
    const text = frames.slice(at, at + perChunk).map(encodeFrame).join('');
    await new Promise((resolve) => res.write(text, resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
}

async function hang(
  res: ServerResponse,
  rateHeaders: Record<string, string>,
  beforeHeaders: boolean,
  onAbort: () => void,
): Promise<void> {
  if (!beforeHeaders) {
    res.writeHead(200, sseHeaders(rateHeaders));
    res.flushHeaders();
  }
  await new Promise((resolve) => res.once('close', resolve));
  onAbort();
}

function authenticated(state: FakeCodexState, req: IncomingMessage, res: ServerResponse): string | undefined {
  const auth = authenticate(state, req);
  if ('refused' in auth) {
    send(res, auth.refused);
    return undefined;
  }
  return auth.accountId;
}

/** The version assumed when a model request carries no `version` header (the gate then only hides nothing new). */
const DEFAULT_CLIENT_VERSION = '0.171.0';

/**
 * Why the backend refuses `slug` for this account, or null. Any slug outside the account's
 * catalog (retired, another plan's, made up) gets the same message the real backend sends; a
 * model that needs a newer client than the `version` header says gets the upgrade message.
 */
export function modelRefusal(models: readonly FakeModel[], slug: string, clientVersion: string | null): string | null {
  const model = models.find((m) => m.slug === slug);
  if (!model) return `The '${slug}' model is not supported when using Codex with a ChatGPT account.`;
  const needed = String(model.minimal_client_version ?? '0');
  if (clientVersion !== null && !versionAtLeast(clientVersion, needed)) {
    return `The '${slug}' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again.`;
  }
  return null;
}

/**
 * `GET /codex/models?client_version=…`: the account's catalog as a client of that version sees
 * it (newer models left out), with an ETag; `If-None-Match` with the current one gets a 304.
 */
export function handleModels(state: FakeCodexState, req: IncomingMessage, res: ServerResponse): void {
  const accountId = authenticated(state, req, res);
  if (accountId === undefined) return;
  const url = new URL(req.url ?? '/', 'http://fake');
  const clientVersion = url.searchParams.get('client_version');
  const answer = (status: number) =>
    state.recordModelsRequest(accountId, {
      method: 'GET',
      url: req.url ?? '',
      headers: lowerCaseHeaders(req),
      body: null,
      status,
      step: 'none',
      receivedAt: new Date().toISOString(),
    });
  const failWith = state.modelsFailWith(accountId);
  if (failWith !== null) {
    answer(failWith);
    return send(res, { status: failWith, body: { detail: 'An error occurred while fetching models.' } });
  }
  if (!clientVersion || !/^\d+\.\d+\.\d+$/.test(clientVersion)) {
    answer(400);
    return send(res, detail(400, 'missing client_version'));
  }
  const { json, etag } = catalogFor(state.models(accountId), clientVersion);
  if (req.headers['if-none-match'] === etag) {
    answer(304);
    res.writeHead(304, { etag });
    res.end();
    return;
  }
  answer(200);
  res.writeHead(200, { 'content-type': 'application/json', etag, 'cache-control': 'private, max-age=300' });
  res.end(json);
}

export function handleUsage(state: FakeCodexState, req: IncomingMessage, res: ServerResponse): void {
  const accountId = authenticated(state, req, res);
  if (accountId === undefined) return;
  state.recordUsageRequest(accountId, {
    method: 'GET', url: req.url ?? '', headers: lowerCaseHeaders(req), body: null, status: 200, step: 'none', receivedAt: new Date().toISOString(),
  });
  send(res, { status: 200, body: state.usageBody(accountId) });
}
