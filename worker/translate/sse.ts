/**
 * Server-sent events, both ways: parsing the Codex backend's byte stream into JSON events, and
 * encoding frames for our clients. Framing (split chunks, CRLF, comments, multi-line data) is
 * eventsource-parser's job; this module only adds the JSON layer and the limits.
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';

/** One upstream event: `type` is `data.type` (what the protocol dispatches on), else the SSE event name. */
export interface SseEvent {
  type: string;
  data: Record<string, unknown>;
}

/** The upstream sent something that is not an SSE stream of JSON objects. */
export class SseFormatError extends Error {
  override name = 'SseFormatError';
}

/** Largest single frame we buffer (characters). A reasoning item with encrypted content is far below. */
export const MAX_SSE_FRAME_CHARS = 16 * 1024 * 1024;

function toEvent(eventName: string | undefined, raw: string): SseEvent | null {
  // Some OpenAI-style streams end with a `[DONE]` sentinel; it carries no event.
  if (raw.trim() === '[DONE]') return null;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    throw new SseFormatError(`an event${eventName ? ` "${eventName}"` : ''} carried data that is not JSON`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SseFormatError('an event carried JSON that is not an object');
  }
  const record = data as Record<string, unknown>;
  const type = typeof record.type === 'string' ? record.type : (eventName ?? 'message');
  return { type, data: record };
}

/**
 * Parses an SSE byte stream into events as they arrive. A frame with invalid JSON errors the
 * returned stream with an SseFormatError (the consumer decides how to report it); unknown event
 * types are passed along. Cancelling the returned stream cancels `body` (and so the upstream fetch).
 */
export function parseSseStream(body: ReadableStream<Uint8Array>): ReadableStream<SseEvent> {
  return body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream({ maxBufferSize: MAX_SSE_FRAME_CHARS }))
    .pipeThrough(
      new TransformStream({
        transform(message, controller) {
          const event = toEvent(message.event, message.data);
          if (event) controller.enqueue(event);
        },
      }),
    );
}

const encoder = new TextEncoder();

/** One SSE frame: `event: <name>` (when given), `data: <json>`, blank line. */
export function encodeSseFrame(data: unknown, eventName?: string): Uint8Array {
  // JSON.stringify never emits a raw newline, so one `data:` line is always enough.
  const head = eventName ? `event: ${eventName}\n` : '';
  return encoder.encode(`${head}data: ${JSON.stringify(data)}\n\n`);
}

/** A literal data frame such as `data: [DONE]` (Chat Completions' end marker). */
export function encodeSseRaw(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}

/** Headers for an SSE response to a client. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // Asks nginx-style proxies in front of a self-hosted deployment not to buffer the stream.
  'x-accel-buffering': 'no',
};
