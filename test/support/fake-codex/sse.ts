/**
 * Builds the Codex event streams (pure: a list of frames, written elsewhere). Frame names and payloads
 * follow CODEX-PROTOCOL.md §4, including the quirks consumers must survive: `response.completed` with
 * an empty `output`, a `codex.rate_limits` event, an unknown event type and an SSE comment line.
 */
import { randomBytes } from 'node:crypto';
import { rateLimitsEvent } from './catalog.ts';
import { FAKE_SEARCH_RESULT, type OkOptions, type UsageSpec } from './types.ts';

export type SseFrame = { comment: string } | { event: string; data: Record<string, unknown> };

export type StreamContext = {
  responseId: string;
  model: string;
  createdAt: number;
  planType: string;
  rateLimitHeaders: Record<string, string>;
  /** Text of the last user message, for the default answer. */
  lastUserText: string;
  /** Size of the request's `input`, for a deterministic default usage. */
  inputChars: number;
  /** Request fields the backend echoes in every response object (instructions, tools, reasoning…). */
  echo?: Record<string, unknown>;
  /** The request offered the hosted `web_search` tool: the answer searches first and cites a source. */
  webSearch?: { sources: boolean };
};

/** How the answer cites the search result (the real backend appends a markdown link). */
const citationText = () => ` ([example.com](${FAKE_SEARCH_RESULT.url}))`;

const DEFAULT_CHUNK = 8;

export function encodeFrame(frame: SseFrame): string {
  if ('comment' in frame) return `: ${frame.comment}\n\n`;
  return `event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n\n`;
}

export const defaultText = (lastUserText: string) => `Hello from fake Codex: ${lastUserText}`;

const id = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

/** Splits by code points so deltas never cut an emoji or a surrogate pair in half. */
export function chunks(text: string, size = DEFAULT_CHUNK): string[] {
  const points = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < points.length; i += Math.max(1, size)) out.push(points.slice(i, i + Math.max(1, size)).join(''));
  return out;
}

function ev(type: string, data: Record<string, unknown> = {}): SseFrame {
  return { event: type, data: { type, ...data } };
}

/** The full response object, as the backend sends it in every lifecycle event (created, in_progress, completed…). */
function responseObject(ctx: StreamContext, status: string, extra: Record<string, unknown> = {}) {
  return {
    id: ctx.responseId,
    object: 'response',
    created_at: ctx.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    max_output_tokens: null,
    model: ctx.model,
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'auto',
    store: false,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    truncation: 'disabled',
    usage: null,
    metadata: {},
    ...ctx.echo,
    ...extra,
  };
}

/** created, in_progress, the rate-limit event and a comment: how every 200 stream starts. */
function opening(ctx: StreamContext): SseFrame[] {
  return [
    { comment: 'fake-codex stream' },
    ev('response.created', { response: responseObject(ctx, 'in_progress') }),
    ev('response.in_progress', { response: responseObject(ctx, 'in_progress') }),
    ev('codex.rate_limits', rateLimitsEvent(ctx.rateLimitHeaders, ctx.planType)),
  ];
}

function reasoningItem(summary: string, outputIndex: number, size: number): SseFrame[] {
  const itemId = id('rs');
  const base = { item_id: itemId, output_index: outputIndex, summary_index: 0 };
  return [
    ev('response.output_item.added', { output_index: outputIndex, item: { id: itemId, type: 'reasoning', summary: [] } }),
    ev('response.reasoning_summary_part.added', { ...base, part: { type: 'summary_text', text: '' } }),
    ...chunks(summary, size).map((delta) => ev('response.reasoning_summary_text.delta', { ...base, delta })),
    ev('response.reasoning_summary_text.done', { ...base, text: summary }),
    ev('response.reasoning_summary_part.done', { ...base, part: { type: 'summary_text', text: summary } }),
    ev('response.output_item.done', {
      output_index: outputIndex,
      item: {
        id: itemId,
        type: 'reasoning',
        summary: [{ type: 'summary_text', text: summary }],
        encrypted_content: `gAAAAAB${randomBytes(48).toString('base64url')}`,
      },
    }),
  ];
}

/** A finished web_search_call (its sources only when the request asked for them in `include`), with its progress events. */
function webSearchItem(query: string, outputIndex: number, sources: boolean): SseFrame[] {
  const itemId = id('ws');
  const base = { item_id: itemId, output_index: outputIndex };
  const action = { type: 'search', query, ...(sources ? { sources: [{ type: 'url', url: FAKE_SEARCH_RESULT.url }] } : {}) };
  return [
    ev('response.output_item.added', { output_index: outputIndex, item: { id: itemId, type: 'web_search_call', status: 'in_progress' } }),
    ev('response.web_search_call.in_progress', base),
    ev('response.web_search_call.searching', base),
    ev('response.web_search_call.completed', base),
    ev('response.output_item.done', { output_index: outputIndex, item: { id: itemId, type: 'web_search_call', status: 'completed', action } }),
  ];
}

/** The answer text with its citation appended, and the url_citation annotation covering the link. */
function citedText(text: string): { text: string; annotation: Record<string, unknown> } {
  const link = citationText();
  return {
    text: text + link,
    annotation: { type: 'url_citation', ...FAKE_SEARCH_RESULT, start_index: text.length + 1, end_index: text.length + link.length },
  };
}

function messageItem(text: string, outputIndex: number, size: number, annotation?: Record<string, unknown>): SseFrame[] {
  const itemId = id('msg');
  const base = { item_id: itemId, output_index: outputIndex, content_index: 0 };
  const part = (t: string, done = true) => ({ type: 'output_text', text: t, annotations: annotation && done ? [annotation] : [] });
  const cited = annotation ? [ev('response.output_text.annotation.added', { ...base, annotation_index: 0, annotation })] : [];
  return [
    ev('response.output_item.added', {
      output_index: outputIndex,
      item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    }),
    ev('response.content_part.added', { ...base, part: part('', false) }),
    ...chunks(text, size).map((delta) => ev('response.output_text.delta', { ...base, delta })),
    ...cited,
    ev('response.output_text.done', { ...base, text }),
    ev('response.content_part.done', { ...base, part: part(text) }),
    ev('response.output_item.done', {
      output_index: outputIndex,
      item: { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [part(text)] },
    }),
  ];
}

/** Parallel calls: all items added, argument deltas interleaved round-robin, then each finished. */
function functionCallItems(opts: OkOptions, firstIndex: number, size: number): SseFrame[] {
  const calls = (opts.toolCalls ?? []).map((call, i) => ({
    ...call,
    itemId: id('fc'),
    callId: call.callId ?? id('call'),
    outputIndex: opts.repeatOutputIndexZero ? 0 : firstIndex + i,
    pieces: chunks(call.arguments, size),
  }));
  const item = (c: (typeof calls)[number], status: string, args: string) => ({
    id: c.itemId,
    type: 'function_call',
    status,
    call_id: c.callId,
    name: c.name,
    arguments: args,
  });
  const frames: SseFrame[] = calls.map((c) =>
    ev('response.output_item.added', { output_index: c.outputIndex, item: item(c, 'in_progress', '') }),
  );
  const rounds = Math.max(0, ...calls.map((c) => c.pieces.length));
  for (let r = 0; r < rounds; r++) {
    for (const c of calls) {
      const delta = c.pieces[r];
      if (delta !== undefined) {
        frames.push(ev('response.function_call_arguments.delta', { item_id: c.itemId, output_index: c.outputIndex, delta }));
      }
    }
  }
  for (const c of calls) {
    frames.push(
      ev('response.function_call_arguments.done', { item_id: c.itemId, output_index: c.outputIndex, arguments: c.arguments }),
      ev('response.output_item.done', { output_index: c.outputIndex, item: item(c, 'completed', c.arguments) }),
    );
  }
  return frames;
}

const tokens = (chars: number) => Math.ceil(chars / 4);

function defaultUsage(ctx: StreamContext, opts: OkOptions, text: string): UsageSpec {
  const reasoning = tokens(opts.reasoningSummary?.length ?? 0);
  const args = (opts.toolCalls ?? []).reduce((n, c) => n + c.name.length + c.arguments.length, 0);
  const input = Math.max(1, tokens(ctx.inputChars));
  const output = tokens(text.length + args) + reasoning;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
}

export type Ending = { kind: 'completed' } | { kind: 'incomplete'; reason: string };

/** A successful stream (or one that ends `incomplete`) with the given content. */
export function successStream(ctx: StreamContext, opts: OkOptions, ending: Ending = { kind: 'completed' }): SseFrame[] {
  const size = opts.chunkSize ?? DEFAULT_CHUNK;
  const hasCalls = (opts.toolCalls?.length ?? 0) > 0;
  const text = opts.text ?? (hasCalls ? undefined : defaultText(ctx.lastUserText));
  const frames = opening(ctx);
  let index = 0;
  if (opts.reasoningSummary !== undefined) frames.push(...reasoningItem(opts.reasoningSummary, index++, size));
  if (ctx.webSearch) frames.push(...webSearchItem(ctx.lastUserText, index++, ctx.webSearch.sources));
  if (text !== undefined) {
    if (ctx.webSearch) {
      const cited = citedText(text);
      frames.push(...messageItem(cited.text, index++, size, cited.annotation));
    } else {
      frames.push(...messageItem(text, index++, size));
    }
  }
  // Consumers must ignore event types they do not know.
  frames.push(ev('response.fake_unknown_event', { note: 'fake-codex: consumers must ignore unknown event types' }));
  if (hasCalls) frames.push(...functionCallItems(opts, index, size));
  const usage = opts.usage ?? defaultUsage(ctx, opts, text ?? '');
  if (ending.kind === 'completed') {
    // Like the real backend: the final event's `output` is empty; the items came in output_item.done.
    frames.push(ev('response.completed', { response: responseObject(ctx, 'completed', { usage }) }));
  } else {
    frames.push(
      ev('response.incomplete', {
        response: responseObject(ctx, 'incomplete', { usage, incomplete_details: { reason: ending.reason } }),
      }),
    );
  }
  return numbered(frames);
}

/** A 200 stream that ends in `response.failed`. */
export function failedStream(ctx: StreamContext, code: string, message: string): SseFrame[] {
  return numbered([
    ...opening(ctx),
    ev('response.failed', { response: responseObject(ctx, 'failed', { error: { code, message } }) }),
  ]);
}

/** A 200 stream that ends with a top-level `error` event. */
export function errorEventStream(ctx: StreamContext, code: string, message: string): SseFrame[] {
  return numbered([...opening(ctx), ev('error', { code, message, param: null })]);
}

function numbered(frames: SseFrame[]): SseFrame[] {
  let n = 0;
  return frames.map((f) => ('comment' in f ? f : { event: f.event, data: { ...f.data, sequence_number: n++ } }));
}
