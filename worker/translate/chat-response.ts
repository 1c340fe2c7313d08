/**
 * The Chat Completions answer, from one translation (chat-stream.ts) two ways: streamed as
 * `chat.completion.chunk` SSE ending in `data: [DONE]`, or folded into one `chat.completion`
 * for `stream:false`. A failure mid-stream ends the SSE with one `data: {"error":{…}}` frame
 * (which the OpenAI SDKs raise) and no `[DONE]`; without streaming it is an HTTP error.
 */
import { ApiError } from '../shared/errors.ts';
import { encodeSseFrame, encodeSseRaw, type EventFeed } from './sse.ts';
import { drainEvents, pumpEvents } from './stream-pump.ts';
import { ChatStreamTranslator, type ChatStreamOptions } from './chat-stream.ts';
import type { ChatChunk, ChatCompletion, ChatToolCall, ChatUsage, FinishReason } from './chat-types.ts';
import type { ChatUrlCitation } from './web-search.ts';

/**
 * The error as a Chat client should see it: a too-long conversation is the fault of
 * `messages` (the shared mapping names the Responses `input`).
 */
export function chatError<T>(err: T): T | ApiError {
  if (!(err instanceof ApiError) || err.param !== 'input') return err;
  return new ApiError(err.code, err.message, {
    param: 'messages', headers: err.headers, limit: err.limit, ...(err.detail ? { detail: err.detail } : {}),
  });
}

function encodeChatError(err: ApiError): Uint8Array {
  return encodeSseFrame(chatError(err).toBody());
}

const DONE_FRAME = encodeSseRaw('[DONE]');

/** Streams the answer as Chat chunks: the role chunk at once, then as upstream events arrive. */
export function chatSseStream(
  feed: EventFeed,
  options: ChatStreamOptions & { onError?: (err: ApiError) => void; keepAliveMs?: number },
): ReadableStream<Uint8Array> {
  const translator = new ChatStreamTranslator(options);
  return pumpEvents(feed, {
    first: [encodeSseFrame(translator.start())],
    errorFrame: encodeChatError,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
    step(event) {
      const frames = translator.push(event).map((chunk) => encodeSseFrame(chunk));
      if (translator.finished) frames.push(DONE_FRAME);
      return { frames, done: translator.finished };
    },
  });
}

/** Folds chunks into the `chat.completion` a non-streaming client receives. */
export class ChatCompletionBuilder {
  #content = '';
  #reasoning = '';
  #refusal = '';
  readonly #annotations: ChatUrlCitation[] = [];
  readonly #tools: ChatToolCall[] = [];
  #functionCall: { name: string; arguments: string } | null = null;
  #finish: FinishReason = 'stop';
  #usage: ChatUsage | null = null;

  add(chunk: ChatChunk): void {
    if (chunk.usage) this.#usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) return;
    const delta = choice.delta;
    if (delta.content) this.#content += delta.content;
    if (delta.reasoning_content) this.#reasoning += delta.reasoning_content;
    if (delta.refusal) this.#refusal += delta.refusal;
    if (delta.annotations) this.#annotations.push(...delta.annotations);
    for (const call of delta.tool_calls ?? []) {
      const known = this.#tools[call.index];
      if (known) known.function.arguments += call.function.arguments;
      else this.#tools[call.index] = { id: call.id ?? '', type: 'function', function: { name: call.function.name ?? '', arguments: call.function.arguments } };
    }
    if (delta.function_call) {
      if (this.#functionCall) this.#functionCall.arguments += delta.function_call.arguments;
      else this.#functionCall = { name: delta.function_call.name ?? '', arguments: delta.function_call.arguments };
    }
    if (choice.finish_reason) this.#finish = choice.finish_reason;
  }

  build(head: { id: string; created: number; model: string }): ChatCompletion {
    const tools = this.#tools.filter(Boolean);
    const message: ChatCompletion['choices'][number]['message'] = {
      role: 'assistant',
      // OpenAI answers null content when the turn is only tool calls.
      content: this.#content === '' && (tools.length > 0 || this.#functionCall) ? null : this.#content,
      refusal: this.#refusal === '' ? null : this.#refusal,
      annotations: this.#annotations,
    };
    if (this.#reasoning) message.reasoning_content = this.#reasoning;
    if (tools.length > 0) message.tool_calls = tools;
    if (this.#functionCall) message.function_call = this.#functionCall;
    const completion: ChatCompletion = {
      ...head,
      object: 'chat.completion',
      system_fingerprint: null,
      choices: [{ index: 0, message, logprobs: null, finish_reason: this.#finish }],
    };
    if (this.#usage) completion.usage = this.#usage;
    return completion;
  }
}

/** Reads the whole upstream stream into one `chat.completion`; throws an ApiError for any failure. */
export async function collectChatCompletion(feed: EventFeed, options: ChatStreamOptions): Promise<ChatCompletion> {
  // Usage is always wanted here; the builder takes it from the usage chunk.
  const translator = new ChatStreamTranslator({ ...options, includeUsage: true });
  const builder = new ChatCompletionBuilder();
  try {
    await drainEvents(feed, (event) => {
      for (const chunk of translator.push(event)) builder.add(chunk);
      return translator.finished;
    });
  } catch (err) {
    throw chatError(err);
  }
  return builder.build({ id: options.id, created: options.created, model: options.model });
}
