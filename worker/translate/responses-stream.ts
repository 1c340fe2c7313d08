/**
 * What happens to the Codex event stream on its way back to a `/v1/responses` client:
 * (a) streamed through as SSE, ending with exactly one terminal event or one error event: every
 *     event but the terminal one is passed on as the bytes upstream sent, never re-encoded;
 * (b) aggregated into the final response object for `stream:false`.
 * Reading, truncation and cancellation are stream-pump.ts's job, shared with Chat Completions.
 */
import type { ApiError } from '../shared/errors.ts';
import { encodeSseFrame, type EventFeed, type EventTap, type SseEvent } from './sse.ts';
import { drainEvents, pumpEvents } from './stream-pump.ts';
import { mapStreamFailure } from '../upstream/error-mapping.ts';

type Json = Record<string, unknown>;

/** Events that end a response; anything else before end-of-stream means the stream broke. */
export const TERMINAL_EVENT_TYPES = ['response.completed', 'response.incomplete', 'response.failed'] as const;

export type TerminalEventType = (typeof TERMINAL_EVENT_TYPES)[number];

export function isTerminal(type: string): type is TerminalEventType {
  return (TERMINAL_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * The Responses API stream events a client may receive (the OpenAI SDKs' stream helpers throw on
 * any other type, so events outside this list — `codex.rate_limits`, anything new upstream —
 * are consumed here and not forwarded).
 */
export const RESPONSES_STREAM_EVENT_TYPES: ReadonlySet<string> = new Set([
  'response.created', 'response.queued', 'response.in_progress',
  'response.completed', 'response.incomplete', 'response.failed', 'error', 'keepalive',
  'response.output_item.added', 'response.output_item.done',
  'response.content_part.added', 'response.content_part.done',
  'response.output_text.delta', 'response.output_text.done', 'response.output_text.annotation.added',
  'response.refusal.delta', 'response.refusal.done',
  'response.function_call_arguments.delta', 'response.function_call_arguments.done',
  'response.custom_tool_call_input.delta', 'response.custom_tool_call_input.done',
  'response.reasoning_text.delta', 'response.reasoning_text.done',
  'response.reasoning_summary_part.added', 'response.reasoning_summary_part.done',
  'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.done',
  'response.web_search_call.in_progress', 'response.web_search_call.searching', 'response.web_search_call.completed',
  'response.file_search_call.in_progress', 'response.file_search_call.searching', 'response.file_search_call.completed',
  'response.code_interpreter_call.in_progress', 'response.code_interpreter_call.interpreting',
  'response.code_interpreter_call.completed', 'response.code_interpreter_call_code.delta',
  'response.code_interpreter_call_code.done',
  'response.image_generation_call.in_progress', 'response.image_generation_call.generating',
  'response.image_generation_call.completed', 'response.image_generation_call.partial_image',
  'response.mcp_call_arguments.delta', 'response.mcp_call_arguments.done',
  'response.mcp_call.in_progress', 'response.mcp_call.completed', 'response.mcp_call.failed',
  'response.mcp_list_tools.in_progress', 'response.mcp_list_tools.completed', 'response.mcp_list_tools.failed',
  'response.audio.delta', 'response.audio.done', 'response.audio.transcript.delta', 'response.audio.transcript.done',
]);

/** The final Responses API object, plus the SDKs' `output_text` convenience. */
export type ResponseObject = Json & { id: unknown; status: string; output: Json[]; output_text: string };

interface ItemState {
  item: Json;
  done: boolean;
  /** Deltas, for items the stream never finished (a response.incomplete cut them off). */
  text: Map<number, string>;
  summary: Map<number, string>;
  args: string;
}

function asRecord(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function indexOf(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

function joined(parts: Map<number, string>): string[] {
  return [...parts.entries()].sort(([a], [b]) => a - b).map(([, text]) => text);
}

/**
 * Rebuilds a response from its events. Items are keyed by their id (the backend's completed
 * event has an empty `output`, and some streams give every parallel tool call output_index 0),
 * and ordered by first appearance, which is output_index order in a well-formed stream.
 */
export class ResponseAggregator {
  readonly #items = new Map<string, ItemState>();
  readonly #deltas: boolean;
  #response: Json | null = null;
  #terminal: Json | null = null;
  #anonymous = 0;

  /**
   * `deltas: false` keeps only finished items (memory flat however long an item): an item the
   * stream never finished is then rebuilt without its text.
   */
  constructor(options: { deltas?: boolean } = {}) {
    this.#deltas = options.deltas ?? true;
  }

  /** The terminal event seen so far, if any. */
  get terminal(): SseEvent['type'] | null {
    return this.#terminal ? String(this.#terminal.type) : null;
  }

  /** Reads an event's JSON only for the types it keeps something of. */
  push(event: SseEvent): void {
    switch (event.type) {
      case 'response.created':
      case 'response.in_progress':
        this.#merge(event.data.response);
        return;
      case 'response.output_item.added':
      case 'response.output_item.done': {
        const item = asRecord(event.data.item);
        if (!item) return;
        const state = this.#state(this.#keyOf(item), item);
        if (event.type === 'response.output_item.done') {
          state.item = item;
          state.done = true;
          // The finished item is what counts now; its deltas need not be kept.
          state.text.clear();
          state.summary.clear();
          state.args = '';
        }
        return;
      }
      case 'response.output_text.delta':
      case 'response.reasoning_summary_text.delta':
      case 'response.function_call_arguments.delta':
        if (this.#deltas) this.#pushDelta(event);
        return;
      default:
        if (isTerminal(event.type)) {
          this.#terminal = event.data;
          this.#merge(event.data.response);
        }
    }
  }

  #pushDelta(event: SseEvent): void {
    switch (event.type) {
      case 'response.output_text.delta': {
        const data = event.data;
        this.#appendTo(this.#deltaState(data, 'message').text, indexOf(data.content_index), data.delta);
        return;
      }
      case 'response.reasoning_summary_text.delta': {
        const data = event.data;
        this.#appendTo(this.#deltaState(data, 'reasoning').summary, indexOf(data.summary_index), data.delta);
        return;
      }
      case 'response.function_call_arguments.delta': {
        const data = event.data;
        const state = this.#deltaState(data, 'function_call');
        if (typeof data.delta === 'string') state.args += data.delta;
        return;
      }
      default:
    }
  }

  /** Output items in order: finished ones as the backend sent them, unfinished ones rebuilt from deltas. */
  outputItems(): Json[] {
    return [...this.#items.values()].map((state) => (state.done ? state.item : rebuild(state)));
  }

  /** The final response object; call after a response.completed or response.incomplete. */
  finalResponse(): ResponseObject {
    const base = this.#response ?? {};
    const upstreamOutput = Array.isArray(base.output) ? (base.output as Json[]) : [];
    const output = upstreamOutput.length > 0 ? upstreamOutput : this.outputItems();
    const status =
      typeof base.status === 'string' ? base.status : this.terminal === 'response.incomplete' ? 'incomplete' : 'completed';
    return { ...base, id: base.id ?? null, object: 'response', status, output, output_text: outputText(output) };
  }

  /**
   * The `response.failed` event for a failure the backend did not report as one (a broken or
   * stalled stream, a top-level `error` event), or null before `response.created` named the response.
   */
  failedEvent(err: ApiError): Json | null {
    if (!this.#response || this.terminal !== null) return null;
    const response = {
      ...this.#response,
      status: 'failed',
      output: this.outputItems(),
      error: { code: err.code, message: err.message, ...err.limit },
    };
    return { type: 'response.failed', response };
  }

  /**
   * The terminal event with its `response.output` filled in when the backend left it empty, and
   * any field of the response object it left out (`created_at`, `model`…) taken from the earlier events.
   */
  completeTerminalEvent(data: Json): Json {
    const response = asRecord(data.response);
    if (!response) return data;
    const full = { ...this.#response, ...response };
    if (!(Array.isArray(response.output) && response.output.length > 0)) {
      const items = this.outputItems();
      if (items.length > 0) full.output = items;
    }
    return { ...data, response: full };
  }

  /** Later events' response objects update the earlier one field by field, so nothing they omit is lost. */
  #merge(value: unknown): void {
    const response = asRecord(value);
    if (response) this.#response = { ...this.#response, ...response };
  }

  #keyOf(item: Json): string {
    if (typeof item.id === 'string' && item.id) return item.id;
    if (typeof item.call_id === 'string' && item.call_id) return `call:${item.call_id}`;
    return `anonymous:${this.#anonymous++}`;
  }

  #state(key: string, item: Json): ItemState {
    let state = this.#items.get(key);
    if (!state) {
      state = { item, done: false, text: new Map(), summary: new Map(), args: '' };
      this.#items.set(key, state);
    }
    return state;
  }

  /** The item a delta belongs to; a delta for an item never announced starts a shell of `type`. */
  #deltaState(data: Json, type: string): ItemState {
    const id = typeof data.item_id === 'string' && data.item_id ? data.item_id : `anonymous-delta:${type}`;
    const shell: Json = type === 'message' ? { id, type, role: 'assistant', content: [] } : { id, type };
    return this.#state(id, shell);
  }

  #appendTo(parts: Map<number, string>, index: number, delta: unknown): void {
    if (typeof delta === 'string') parts.set(index, (parts.get(index) ?? '') + delta);
  }
}

function rebuild(state: ItemState): Json {
  const item: Json = { ...state.item, status: 'incomplete' };
  if (item.type === 'message' && state.text.size > 0) {
    item.content = joined(state.text).map((text) => ({ type: 'output_text', text, annotations: [] }));
  } else if (item.type === 'function_call' && state.args) {
    item.arguments = state.args;
  } else if (item.type === 'reasoning' && state.summary.size > 0) {
    item.summary = joined(state.summary).map((text) => ({ type: 'summary_text', text }));
  }
  return item;
}

/** All assistant text of the output, as the OpenAI SDKs compute `output_text`. */
export function outputText(output: Json[]): string {
  const texts: string[] = [];
  for (const item of output) {
    if (item.type !== 'message' || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      const p = asRecord(part);
      if (p?.type === 'output_text' && typeof p.text === 'string') texts.push(p.text);
    }
  }
  return texts.join('');
}

/**
 * The final SSE error frame: `{"error":{…}}` (what the OpenAI SDKs throw on) plus the
 * Responses API's own error-event fields (`type`, `code`, `message`, `param`).
 */
export function encodeErrorFrame(err: ApiError): Uint8Array {
  const body = err.toBody();
  return encodeSseFrame({ type: 'error', code: err.code, message: err.message, param: err.param, ...body }, 'error');
}

export interface StreamOptions {
  now?: () => number;
  /** Told about the error sent as the final frame (for logs). */
  onError?: (err: ApiError) => void;
}

/**
 * Streams upstream events to a `/v1/responses` client as they arrive. Only
 * RESPONSES_STREAM_EVENT_TYPES are forwarded, each as the bytes upstream sent; the terminal
 * event alone is re-encoded, its `output` rebuilt. A failure ends the stream with a
 * `response.failed` event (the backend's own, forwarded, or one built here for a broken, stalled
 * or `error`-ended stream: what Codex CLI acts on) and then one `error` frame (what the OpenAI
 * SDKs throw on).
 */
export function responsesSseStream(feed: EventFeed, options: StreamOptions = {}): ReadableStream<Uint8Array> {
  const now = options.now ?? Date.now;
  const aggregator = new ResponseAggregator();
  return pumpEvents(feed, {
    errorFrame(err) {
      const failed = aggregator.failedEvent(err);
      const error = encodeErrorFrame(err);
      if (!failed) return error;
      const head = encodeSseFrame(failed, 'response.failed');
      const both = new Uint8Array(head.byteLength + error.byteLength);
      both.set(head);
      both.set(error, head.byteLength);
      return both;
    },
    ...(options.onError ? { onError: options.onError } : {}),
    step(event) {
      aggregator.push(event);
      if (!RESPONSES_STREAM_EVENT_TYPES.has(event.type)) return { frames: [] };
      if (event.type === 'error') return { frames: [], error: mapStreamFailure(event.data, now()) };
      if (aggregator.terminal === null) return { frames: [event.raw] };
      const frames = [encodeSseFrame(aggregator.completeTerminalEvent(event.data), event.type)];
      if (event.type === 'response.failed') return { frames, error: mapStreamFailure(event.data, now()) };
      return { frames, done: true };
    },
  });
}

/** What an answer ended with: its terminal event type and the response object, `output` rebuilt. */
export interface FinalResponse {
  type: TerminalEventType;
  response: Record<string, unknown>;
}

/**
 * A tap that hands `onFinal` the final response object once, when the terminal event passes (its
 * `output` filled from the finished items when the backend left it empty, as a client sees it;
 * an item the stream never finished is there without its text).
 */
export function finalResponseTap(onFinal: (final: FinalResponse) => void): EventTap {
  // Finished items only: an observer must not hold every delta of a long answer.
  const aggregator = new ResponseAggregator({ deltas: false });
  let reported = false;
  return (event) => {
    if (reported) return;
    aggregator.push(event);
    if (!isTerminal(event.type)) return;
    reported = true;
    const response = asRecord(aggregator.completeTerminalEvent(event.data).response) ?? {};
    onFinal({ type: event.type, response });
  };
}

/**
 * Reads the whole stream for a `stream:false` client: the final response on
 * `response.completed` / `response.incomplete`; a thrown ApiError for `response.failed`, an
 * `error` event, or a stream that broke or ended early (so the client gets an HTTP error status).
 */
export async function collectResponse(feed: EventFeed, options: { now?: () => number } = {}): Promise<ResponseObject> {
  const now = options.now ?? Date.now;
  const aggregator = new ResponseAggregator();
  await drainEvents(feed, (event) => {
    if (event.type === 'error' || event.type === 'response.failed') throw mapStreamFailure(event.data, now());
    aggregator.push(event);
    return aggregator.terminal !== null;
  });
  return aggregator.finalResponse();
}
