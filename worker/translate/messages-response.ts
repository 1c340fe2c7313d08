/**
 * The Anthropic Messages answer, from one translation (messages-stream.ts) two ways: streamed as
 * named SSE events (`event: message_start` … `event: message_stop`), or folded into one `message`
 * for a request without `stream`. A failure mid-stream ends the SSE with one `event: error` frame
 * (which the Anthropic SDK raises); without streaming it is an HTTP error.
 */
import type { ApiError } from '../shared/errors.ts';
import { anthropicErrorBody } from './messages-errors.ts';
import { MessagesStreamTranslator, type MessagesStreamOptions } from './messages-stream.ts';
import type { AnthropicMessage, AnthropicUsage, ContentBlock, MessagesEvent } from './messages-types.ts';
import { encodeSseFrame, type EventFeed } from './sse.ts';
import { drainEvents, pumpEvents } from './stream-pump.ts';

type Json = Record<string, unknown>;

export interface MessagesAnswerOptions extends MessagesStreamOptions {
  /** Told the answer's usage once its terminal event passed (not for a failed answer or a stop sequence). */
  onUsage?: (usage: AnthropicUsage) => void;
}

const frame = (event: MessagesEvent) => encodeSseFrame(event, event.type);

function encodeError(err: ApiError): Uint8Array {
  return encodeSseFrame(anthropicErrorBody(err), 'error');
}

/** Streams the answer as Anthropic events: `message_start` and a `ping` at once, then as upstream events arrive. */
export function messagesSseStream(
  events: EventFeed,
  options: MessagesAnswerOptions & { onError?: (err: ApiError) => void; keepAliveMs?: number },
): ReadableStream<Uint8Array> {
  const translator = new MessagesStreamTranslator(options);
  return pumpEvents(events, {
    first: translator.start().map(frame),
    errorFrame: encodeError,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
    step(event) {
      const frames = translator.push(event).map(frame);
      if (translator.finished && translator.usage) options.onUsage?.(translator.usage);
      return { frames, done: translator.finished };
    },
  });
}

/** Folds stream events into the `message` a client without `stream` receives. */
export class MessageBuilder {
  readonly #blocks: ContentBlock[] = [];
  /** Argument text of each tool_use block, parsed when the block stops. */
  readonly #json = new Map<number, string>();
  #message: AnthropicMessage | null = null;

  add(event: MessagesEvent): void {
    switch (event.type) {
      case 'message_start':
        this.#message = { ...event.message, content: this.#blocks };
        return;
      case 'content_block_start':
        this.#blocks[event.index] = structuredClone(event.content_block);
        return;
      case 'content_block_delta':
        this.#delta(event.index, event.delta);
        return;
      case 'content_block_stop': {
        const block = this.#blocks[event.index];
        const json = this.#json.get(event.index);
        if (block?.type === 'tool_use' && json !== undefined) block.input = parseInput(json);
        return;
      }
      case 'message_delta':
        if (this.#message) {
          this.#message.stop_reason = event.delta.stop_reason;
          this.#message.stop_sequence = event.delta.stop_sequence;
          this.#message.usage = event.usage;
        }
        return;
      default:
    }
  }

  #delta(index: number, delta: Extract<MessagesEvent, { type: 'content_block_delta' }>['delta']): void {
    const block = this.#blocks[index];
    if (!block) return;
    if (delta.type === 'text_delta' && block.type === 'text') block.text += delta.text;
    else if (delta.type === 'thinking_delta' && block.type === 'thinking') block.thinking += delta.thinking;
    else if (delta.type === 'signature_delta' && block.type === 'thinking') block.signature += delta.signature;
    else if (delta.type === 'input_json_delta') this.#json.set(index, (this.#json.get(index) ?? '') + delta.partial_json);
  }

  build(): AnthropicMessage {
    if (!this.#message) throw new Error('no message_start was added');
    return { ...this.#message, content: this.#blocks.filter(Boolean) };
  }
}

/** Tool arguments as the object Anthropic clients expect; text that is not a JSON object is kept under `_raw`. */
function parseInput(json: string): Json {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // falls through to _raw
  }
  return { _raw: json };
}

/** Reads the whole upstream stream into one `message`; throws an ApiError for any failure. */
export async function collectMessage(events: EventFeed, options: MessagesAnswerOptions): Promise<AnthropicMessage> {
  const translator = new MessagesStreamTranslator(options);
  const builder = new MessageBuilder();
  for (const event of translator.start()) builder.add(event);
  await drainEvents(events, (event) => {
    for (const out of translator.push(event)) builder.add(out);
    return translator.finished;
  });
  if (translator.usage) options.onUsage?.(translator.usage);
  return builder.build();
}
