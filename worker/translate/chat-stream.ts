/**
 * Codex Responses events → Chat Completions chunks, one upstream event at a time. Pure and
 * synchronous, so the streamed answer and the aggregated (`stream:false`) answer come from the
 * same translation. Memory stays flat however long the answer: only lengths are remembered.
 *
 * Items are keyed by `item_id` (falling back to `call_id`, then `output_index`): some streams
 * give every parallel tool call output_index 0. Deltas are reconciled with each item's final
 * `output_item.done`, so a stream that sends an item only whole still reaches the client.
 */
import type { ReasoningDisplay } from './chat-request.ts';
import { chatUsage, type ChatChunk, type ChatDelta, type FinishReason, type ToolCallDelta } from './chat-types.ts';
import type { ApiError } from '../shared/errors.ts';
import type { SseEvent } from './sse.ts';
import { StopSequenceFilter } from './stop-sequences.ts';
import { mapStreamFailure } from '../upstream/error-mapping.ts';
import { chatAnnotation } from './web-search.ts';

type Json = Record<string, unknown>;

export interface ChatStreamOptions {
  id: string;
  /** Epoch seconds. */
  created: number;
  /** The model id as the client named it. */
  model: string;
  includeUsage: boolean;
  reasoningDisplay: ReasoningDisplay;
  stop: readonly string[];
  legacyFunctions: boolean;
  now?: () => number;
}

interface ToolState {
  index: number;
  callId: string | null;
  name: string | null;
  announced: boolean;
  /** Argument text received before the call could be announced (no id or name yet). */
  pending: string;
  /** Legacy function calling reports one call; later ones are dropped. */
  dropped: boolean;
}

interface ItemState {
  /** Characters of text (or arguments) received as deltas, to reconcile with the finished item. */
  received: number;
  refusalReceived: number;
  reasoningParts: Set<number>;
  tool: ToolState | null;
  /** Where this item's text starts in the message content (annotation indices are relative to it). */
  textStart: number | null;
  /** Annotations already sent. */
  annotations: number;
}

const THINK_OPEN = '<think>\n';
const THINK_CLOSE = '\n</think>\n\n';

function asRecord(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function partsText(content: unknown, type: string, field: string): string {
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    const p = asRecord(part);
    if (p?.type === type && typeof p[field] === 'string') text += p[field];
  }
  return text;
}

/** The annotations of a message's `output_text` parts, in order. */
function partsAnnotations(content: unknown): unknown[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((part: unknown) => {
    const p = asRecord(part);
    return p?.type === 'output_text' && Array.isArray(p.annotations) ? (p.annotations as unknown[]) : [];
  });
}

export class ChatStreamTranslator {
  readonly #o: ChatStreamOptions;
  readonly #items = new Map<string, ItemState>();
  /** output_index → key of the latest item announced there, for deltas without an item_id. */
  readonly #byIndex = new Map<number, string>();
  readonly #stop: StopSequenceFilter;
  #tools = 0;
  #reasoningSent = false;
  #thinkOpen = false;
  #finished = false;
  /** Characters of `content` sent so far. */
  #contentChars = 0;
  #out: ChatChunk[] = [];

  constructor(options: ChatStreamOptions) {
    this.#o = options;
    this.#stop = new StopSequenceFilter(options.stop);
  }

  /** True once the answer is complete (a terminal event, or a stop sequence): read no further. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The first chunk: the assistant role. Sent before any upstream event so the client sees bytes at once. */
  start(): ChatChunk {
    return this.#chunk({ role: 'assistant', content: '' }, null);
  }

  /** The chunks one upstream event means. Throws the mapped ApiError for `response.failed` and `error`. */
  push(event: SseEvent): ChatChunk[] {
    if (this.#finished) return [];
    this.#out = [];
    const data = event.data;
    switch (event.type) {
      case 'response.output_item.added':
        this.#added(asRecord(data.item), data.output_index);
        break;
      case 'response.output_text.delta':
        this.#textDelta(this.#state(data), str(data.delta));
        break;
      case 'response.refusal.delta': {
        const delta = str(data.delta);
        if (delta) {
          this.#state(data).refusalReceived += delta.length;
          this.#emit({ refusal: delta });
        }
        break;
      }
      case 'response.reasoning_summary_text.delta':
        this.#reasoningDelta(this.#state(data), count(data.summary_index), str(data.delta));
        break;
      case 'response.reasoning_text.delta':
        // Raw reasoning (some models); numbered apart from summary parts.
        this.#reasoningDelta(this.#state(data), 1_000_000 + count(data.content_index), str(data.delta));
        break;
      case 'response.function_call_arguments.delta':
        this.#argumentsDelta(this.#state(data), str(data.delta));
        break;
      case 'response.output_text.annotation.added':
        this.#annotate(this.#state(data), [data.annotation]);
        break;
      case 'response.function_call_arguments.done':
        this.#argumentsDone(this.#state(data), str(data.arguments));
        break;
      case 'response.output_item.done':
        this.#done(asRecord(data.item), data.output_index);
        break;
      case 'response.completed':
        this.#finish(this.#tools > 0 ? (this.#o.legacyFunctions ? 'function_call' : 'tool_calls') : 'stop', data);
        break;
      case 'response.incomplete': {
        const reason = asRecord(asRecord(asRecord(data.response)?.incomplete_details))?.reason;
        this.#finish(reason === 'content_filter' ? 'content_filter' : 'length', data);
        break;
      }
      case 'response.failed':
      case 'error':
        throw this.failure(data);
      default:
      // created, in_progress, part added/done, codex.rate_limits, anything new: nothing to say.
    }
    return this.#out;
  }

  /** The client error a failure event means. */
  failure(data: Json): ApiError {
    return mapStreamFailure(data, (this.#o.now ?? Date.now)());
  }

  #chunk(delta: ChatDelta, finish: FinishReason | null): ChatChunk {
    const chunk: ChatChunk = {
      id: this.#o.id,
      object: 'chat.completion.chunk',
      created: this.#o.created,
      model: this.#o.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    // With include_usage, OpenAI marks every chunk but the last with `usage: null`.
    if (this.#o.includeUsage) chunk.usage = null;
    return chunk;
  }

  #emit(delta: ChatDelta): void {
    if (delta.content) this.#contentChars += delta.content.length;
    this.#out.push(this.#chunk(delta, null));
  }

  #keyOf(item: Json, outputIndex: unknown): string {
    if (typeof item.id === 'string' && item.id) return item.id;
    if (typeof item.call_id === 'string' && item.call_id) return `call:${item.call_id}`;
    return `index:${count(outputIndex)}`;
  }

  #get(key: string): ItemState {
    let state = this.#items.get(key);
    if (!state) {
      state = { received: 0, refusalReceived: 0, reasoningParts: new Set(), tool: null, textStart: null, annotations: 0 };
      this.#items.set(key, state);
    }
    return state;
  }

  /** The item a delta belongs to: by item_id, else the latest item at its output_index. */
  #state(data: Json): ItemState {
    const id = str(data.item_id);
    if (id) return this.#get(id);
    return this.#get(this.#byIndex.get(count(data.output_index)) ?? `index:${count(data.output_index)}`);
  }

  #added(item: Json | null, outputIndex: unknown): void {
    if (!item) return;
    const key = this.#keyOf(item, outputIndex);
    this.#byIndex.set(count(outputIndex), key);
    const state = this.#get(key);
    if (item.type === 'function_call') this.#toolOf(state, item);
  }

  #toolOf(state: ItemState, item: Json | null): ToolState {
    if (!state.tool) {
      const dropped = this.#o.legacyFunctions && this.#tools > 0;
      state.tool = { index: this.#tools, callId: null, name: null, announced: false, pending: '', dropped };
      if (!dropped) this.#tools++;
    }
    const tool = state.tool;
    tool.callId ??= str(item?.call_id) || null;
    tool.name ??= str(item?.name) || null;
    if (!tool.announced && !tool.dropped && tool.callId && tool.name) {
      tool.announced = true;
      this.#closeThink();
      this.#toolDelta(tool, { id: tool.callId, name: tool.name }, tool.pending);
      tool.pending = '';
    }
    return tool;
  }

  #toolDelta(tool: ToolState, head: { id: string; name: string } | null, args: string): void {
    if (this.#o.legacyFunctions) {
      this.#emit({ function_call: head ? { name: head.name, arguments: args } : { arguments: args } });
      return;
    }
    const delta: ToolCallDelta = head
      ? { index: tool.index, id: head.id, type: 'function', function: { name: head.name, arguments: args } }
      : { index: tool.index, function: { arguments: args } };
    this.#emit({ tool_calls: [delta] });
  }

  #argumentsDelta(state: ItemState, delta: string | null): void {
    if (!delta) return;
    const tool = this.#toolOf(state, null);
    state.received += delta.length;
    if (tool.dropped) return;
    if (tool.announced) this.#toolDelta(tool, null, delta);
    else tool.pending += delta;
  }

  /** The full arguments: whatever the deltas did not deliver is sent now. */
  #argumentsDone(state: ItemState, full: string | null): void {
    if (full !== null && full.length > state.received) this.#argumentsDelta(state, full.slice(state.received));
  }

  #textDelta(state: ItemState, delta: string | null): void {
    if (!delta) return;
    state.received += delta.length;
    this.#closeThink();
    state.textStart ??= this.#contentChars;
    const { text, stopped } = this.#stop.push(delta);
    if (text) this.#emit({ content: text });
    if (stopped) this.#finish('stop', null);
  }

  #reasoningDelta(state: ItemState, part: number, delta: string | null): void {
    if (!delta || this.#o.reasoningDisplay === 'hidden') return;
    state.received += delta.length;
    // Separate summary parts (and reasoning items) the way the Codex CLI shows them.
    const separator = !state.reasoningParts.has(part) && this.#reasoningSent ? '\n\n' : '';
    state.reasoningParts.add(part);
    this.#reasoningSent = true;
    if (this.#o.reasoningDisplay === 'reasoning_content') {
      this.#emit({ reasoning_content: separator + delta });
      return;
    }
    const held = this.#stop.flush();
    if (held) this.#emit({ content: held });
    const open = this.#thinkOpen ? separator : THINK_OPEN;
    this.#thinkOpen = true;
    this.#emit({ content: open + delta });
  }

  /** Sends the citations Chat has a shape for, counting every annotation so none is sent twice. */
  #annotate(state: ItemState, annotations: unknown[]): void {
    state.annotations += annotations.length;
    const offset = state.textStart ?? this.#contentChars;
    const cited = annotations.flatMap((a) => chatAnnotation(a, offset) ?? []);
    if (cited.length > 0) this.#emit({ annotations: cited });
  }

  #closeThink(): void {
    if (!this.#thinkOpen) return;
    this.#thinkOpen = false;
    this.#emit({ content: THINK_CLOSE });
  }

  #done(item: Json | null, outputIndex: unknown): void {
    if (!item) return;
    const state = this.#get(this.#keyOf(item, outputIndex));
    switch (item.type) {
      case 'message': {
        const text = partsText(item.content, 'output_text', 'text');
        if (text.length > state.received) this.#textDelta(state, text.slice(state.received));
        this.#annotate(state, partsAnnotations(item.content).slice(state.annotations));
        const refusal = partsText(item.content, 'refusal', 'refusal');
        if (refusal.length > state.refusalReceived) {
          this.#emit({ refusal: refusal.slice(state.refusalReceived) });
          state.refusalReceived = refusal.length;
        }
        return;
      }
      case 'reasoning': {
        // Only when no delta came: the finished item is then the only source of its summary.
        if (state.received > 0 || !Array.isArray(item.summary)) return;
        item.summary.forEach((part: unknown, i) => this.#reasoningDelta(state, i, str(asRecord(part)?.text)));
        return;
      }
      case 'function_call':
        this.#toolOf(state, item);
        this.#argumentsDone(state, str(item.arguments));
        return;
      default:
    }
  }

  #finish(reason: FinishReason, terminal: Json | null): void {
    const held = this.#stop.flush();
    if (held) this.#emit({ content: held });
    this.#closeThink();
    this.#out.push(this.#chunk({}, reason));
    const usage = terminal ? chatUsage(asRecord(terminal.response)?.usage) : null;
    if (this.#o.includeUsage && usage) {
      this.#out.push({
        id: this.#o.id, object: 'chat.completion.chunk', created: this.#o.created, model: this.#o.model,
        system_fingerprint: null, choices: [], usage,
      });
    }
    this.#finished = true;
  }
}
