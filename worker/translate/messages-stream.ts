/**
 * Codex Responses events → Anthropic Messages stream events, one upstream event at a time. Pure
 * and synchronous, so the streamed answer and the aggregated (`stream:false`) one come from the
 * same translation.
 *
 * Anthropic clients expect one content block at a time (start, deltas, stop), while the backend
 * may interleave the argument deltas of parallel tool calls: the first call streams, the others
 * are held until it is done. Items are keyed by `item_id` (then `call_id`, then `output_index`),
 * and deltas are reconciled with each item's `output_item.done`, so an item sent only whole still
 * reaches the client. A reasoning item becomes a `thinking` block (when thinking was asked for)
 * whose `signature` carries the encrypted reasoning, so the next request can hand it back.
 */
import type { ApiError } from '../shared/errors.ts';
import { SIGNATURE_PREFIX } from './messages-content.ts';
import {
  anthropicUsage, ZERO_USAGE, type AnthropicMessage, type AnthropicUsage, type BlockDelta, type ContentBlock, type MessagesEvent, type StopReason,
} from './messages-types.ts';
import type { SseEvent } from './sse.ts';
import { StopSequenceFilter } from './stop-sequences.ts';
import { mapStreamFailure } from '../upstream/error-mapping.ts';

type Json = Record<string, unknown>;

export interface MessagesStreamOptions {
  id: string;
  /** The model id as the client named it. */
  model: string;
  stop: readonly string[];
  /** Show reasoning summaries as thinking blocks. */
  thinking: boolean;
  now?: () => number;
}

interface ToolState {
  callId: string | null;
  name: string | null;
  /** Argument text received, sent or not. */
  args: string;
  /** Characters of `args` already sent. */
  sent: number;
  done: boolean;
}

interface ItemState {
  key: string;
  /** Characters of text or summary received as deltas, to reconcile with the finished item. */
  received: number;
  refusalReceived: number;
  reasoningParts: Set<number>;
  tool: ToolState | null;
}

interface OpenBlock {
  key: string;
  index: number;
  kind: 'text' | 'thinking' | 'tool_use';
}

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
  return content.map((part) => asRecord(part)).filter((p) => p?.type === type && typeof p[field] === 'string').map((p) => p![field] as string).join('');
}

export class MessagesStreamTranslator {
  readonly #o: MessagesStreamOptions;
  readonly #items = new Map<string, ItemState>();
  readonly #byIndex = new Map<number, string>();
  readonly #stop: StopSequenceFilter;
  /** Text given to the stop filter, to name the sequence that matched (kept only with stop sequences). */
  #rawText = '';
  #textSent = 0;
  #open: OpenBlock | null = null;
  #nextIndex = 0;
  /** Finished tool calls waiting for the open block to close. */
  #held: ItemState[] = [];
  #tools = 0;
  #refused = false;
  #finished = false;
  #usage: AnthropicUsage | null = null;
  #out: MessagesEvent[] = [];

  constructor(options: MessagesStreamOptions) {
    this.#o = options;
    this.#stop = new StopSequenceFilter(options.stop);
  }

  /** True once the answer is complete (a terminal event, or a stop sequence): read no further. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The answer's usage once the terminal event passed; null before (or when a stop sequence cut it). */
  get usage(): AnthropicUsage | null {
    return this.#usage;
  }

  /** `message_start` and a `ping`, sent before any upstream event so the client sees bytes at once. */
  start(): MessagesEvent[] {
    const message: AnthropicMessage = {
      id: this.#o.id, type: 'message', role: 'assistant', model: this.#o.model, content: [],
      stop_reason: null, stop_sequence: null, usage: { ...ZERO_USAGE },
    };
    return [{ type: 'message_start', message }, { type: 'ping' }];
  }

  /** The events one upstream event means. Throws the mapped ApiError for `response.failed` and `error`. */
  push(event: SseEvent): MessagesEvent[] {
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
      case 'response.refusal.delta':
        this.#refusalDelta(this.#state(data), str(data.delta));
        break;
      case 'response.reasoning_summary_text.delta':
        this.#thinkingDelta(this.#state(data), count(data.summary_index), str(data.delta));
        break;
      case 'response.reasoning_text.delta':
        this.#thinkingDelta(this.#state(data), 1_000_000 + count(data.content_index), str(data.delta));
        break;
      case 'response.function_call_arguments.delta':
        this.#argumentsDelta(this.#state(data), str(data.delta));
        break;
      case 'response.function_call_arguments.done':
        this.#argumentsDone(this.#state(data), str(data.arguments));
        break;
      case 'response.output_item.done':
        this.#done(asRecord(data.item), data.output_index);
        break;
      case 'response.completed':
        this.#finish(this.#refused ? 'refusal' : this.#tools > 0 ? 'tool_use' : 'end_turn', null, data);
        break;
      case 'response.incomplete': {
        const reason = asRecord(asRecord(asRecord(data.response)?.incomplete_details))?.reason;
        this.#finish(reason === 'content_filter' ? 'refusal' : 'max_tokens', null, data);
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

  #keyOf(item: Json, outputIndex: unknown): string {
    if (typeof item.id === 'string' && item.id) return item.id;
    if (typeof item.call_id === 'string' && item.call_id) return `call:${item.call_id}`;
    return `index:${count(outputIndex)}`;
  }

  #get(key: string): ItemState {
    let state = this.#items.get(key);
    if (!state) {
      state = { key, received: 0, refusalReceived: 0, reasoningParts: new Set(), tool: null };
      this.#items.set(key, state);
    }
    return state;
  }

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
    if (item.type === 'function_call') {
      this.#toolOf(state, item);
      this.#advanceTool(state);
    }
  }

  #toolOf(state: ItemState, item: Json | null): ToolState {
    if (!state.tool) {
      state.tool = { callId: null, name: null, args: '', sent: 0, done: false };
      this.#tools++;
    }
    state.tool.callId ??= str(item?.call_id) || null;
    state.tool.name ??= str(item?.name) || null;
    return state.tool;
  }

  #emit(event: MessagesEvent): void {
    this.#out.push(event);
  }

  #openBlock(key: string, block: ContentBlock): OpenBlock {
    if (this.#open && this.#open.key !== key) this.#closeBlock();
    if (!this.#open) {
      this.#open = { key, index: this.#nextIndex++, kind: block.type };
      this.#emit({ type: 'content_block_start', index: this.#open.index, content_block: block });
    }
    return this.#open;
  }

  #delta(block: OpenBlock, delta: BlockDelta): void {
    this.#emit({ type: 'content_block_delta', index: block.index, delta });
  }

  #closeBlock(): void {
    const open = this.#open;
    if (!open) return;
    this.#open = null;
    this.#emit({ type: 'content_block_stop', index: open.index });
    // A finished call that waited for the slot goes out whole now.
    const held = this.#held;
    this.#held = [];
    for (const state of held) this.#advanceTool(state);
  }

  #textBlock(state: ItemState): OpenBlock {
    return this.#openBlock(state.key, { type: 'text', text: '' });
  }

  #textDelta(state: ItemState, delta: string | null): void {
    if (!delta) return;
    state.received += delta.length;
    this.#sendText(state, delta);
  }

  #sendText(state: ItemState, piece: string): void {
    if (this.#o.stop.length > 0) this.#rawText += piece;
    const { text, stopped } = this.#stop.push(piece);
    if (text) this.#delta(this.#textBlock(state), { type: 'text_delta', text });
    this.#textSent += text.length;
    if (stopped) {
      const matched = this.#o.stop.find((stop) => stop !== '' && this.#rawText.startsWith(stop, this.#textSent)) ?? null;
      this.#finish('stop_sequence', matched, null);
    }
  }

  #refusalDelta(state: ItemState, delta: string | null): void {
    if (!delta) return;
    this.#refused = true;
    state.refusalReceived += delta.length;
    this.#delta(this.#textBlock(state), { type: 'text_delta', text: delta });
  }

  #thinkingDelta(state: ItemState, part: number, delta: string | null): void {
    if (!delta || !this.#o.thinking) return;
    const separator = !state.reasoningParts.has(part) && state.received > 0 ? '\n\n' : '';
    state.reasoningParts.add(part);
    state.received += delta.length;
    const block = this.#openBlock(state.key, { type: 'thinking', thinking: '', signature: '' });
    this.#delta(block, { type: 'thinking_delta', thinking: separator + delta });
  }

  #argumentsDelta(state: ItemState, delta: string | null): void {
    if (!delta) return;
    const tool = this.#toolOf(state, null);
    tool.args += delta;
    this.#advanceTool(state);
  }

  #argumentsDone(state: ItemState, full: string | null): void {
    const tool = this.#toolOf(state, null);
    if (full !== null && full.length > tool.args.length) tool.args += full.slice(tool.args.length);
  }

  /** Sends what a tool call can send now: it needs an id, a name, and the block slot. */
  #advanceTool(state: ItemState): void {
    const tool = state.tool;
    if (!tool || !tool.callId || !tool.name) return;
    const mine = this.#open?.key === state.key;
    if (!mine && this.#open?.kind === 'tool_use') {
      if (tool.done && !this.#held.includes(state)) this.#held.push(state);
      return;
    }
    const block = this.#openBlock(state.key, { type: 'tool_use', id: tool.callId, name: tool.name, input: {} });
    if (tool.args.length > tool.sent) {
      this.#delta(block, { type: 'input_json_delta', partial_json: tool.args.slice(tool.sent) });
      tool.sent = tool.args.length;
    }
    if (tool.done) this.#closeBlock();
  }

  #done(item: Json | null, outputIndex: unknown): void {
    if (!item) return;
    const state = this.#get(this.#keyOf(item, outputIndex));
    switch (item.type) {
      case 'message': {
        const text = partsText(item.content, 'output_text', 'text');
        if (text.length > state.received) this.#textDelta(state, text.slice(state.received));
        const refusal = partsText(item.content, 'refusal', 'refusal');
        if (refusal.length > state.refusalReceived) this.#refusalDelta(state, refusal.slice(state.refusalReceived));
        return;
      }
      case 'reasoning':
        this.#reasoningDone(state, item);
        return;
      case 'function_call': {
        const tool = this.#toolOf(state, item);
        this.#argumentsDone(state, str(item.arguments));
        tool.done = true;
        this.#advanceTool(state);
        return;
      }
      default:
    }
  }

  /** Closes the thinking block with the signature that lets the reasoning come back next turn. */
  #reasoningDone(state: ItemState, item: Json): void {
    if (!this.#o.thinking) return;
    if (state.received === 0 && Array.isArray(item.summary)) {
      item.summary.forEach((part: unknown, i) => this.#thinkingDelta(state, i, str(asRecord(part)?.text)));
    }
    const encrypted = str(item.encrypted_content);
    if (!encrypted && this.#open?.key !== state.key) return;
    const block = this.#openBlock(state.key, { type: 'thinking', thinking: '', signature: '' });
    if (encrypted) this.#delta(block, { type: 'signature_delta', signature: SIGNATURE_PREFIX + encrypted });
    this.#closeBlock();
  }

  #finish(reason: StopReason, stopSequence: string | null, terminal: Json | null): void {
    const held = this.#stop.flush();
    if (held) {
      const block = this.#open?.kind === 'text' ? this.#open : this.#openBlock('stop:held', { type: 'text', text: '' });
      this.#delta(block, { type: 'text_delta', text: held });
    }
    this.#closeBlock();
    // Calls still waiting (their item never finished) go out with what they have.
    for (const state of this.#items.values()) {
      if (state.tool && !state.tool.done && state.tool.callId && state.tool.name && reason !== 'stop_sequence') {
        state.tool.done = true;
        this.#advanceTool(state);
      }
    }
    this.#closeBlock();
    this.#usage = terminal ? anthropicUsage(asRecord(terminal.response)?.usage) : null;
    this.#emit({ type: 'message_delta', delta: { stop_reason: reason, stop_sequence: stopSequence }, usage: this.#usage ?? { ...ZERO_USAGE } });
    this.#emit({ type: 'message_stop' });
    this.#finished = true;
  }
}
